/* check_fragment.c - placeholder */
int main(void) { return 77; }
