/* check_mixing.c - placeholder */
int main(void) { return 77; }
