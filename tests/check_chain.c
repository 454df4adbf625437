/* check_chain.c - placeholder */
int main(void) { return 77; }
