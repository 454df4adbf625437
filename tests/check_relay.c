/* check_relay.c - placeholder */
int main(void) { return 77; }
