/* relay-send.c - placeholder */
int main(void) { return 0; }
