/*
 * rwx: a test program for imgward's guest-memory scan. It maps one
 * anonymous page readable, writable and executable, writes code into it
 * (as an unpacker or an injected payload does) and sleeps. Built without
 * libc (gcc -static -nostdlib), so that the test guest needs nothing.
 */
static long syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

enum { SYS_mmap = 9, SYS_pause = 34 };
enum { PROT_RWX = 7, MAP_PRIVATE_ANON = 0x22 };

void _start(void)
{
	unsigned char *p = (unsigned char *)syscall6(SYS_mmap, 0, 4096, PROT_RWX, MAP_PRIVATE_ANON, -1, 0);

	p[0] = 0xc3; /* ret */
	for (;;)
		syscall6(SYS_pause, 0, 0, 0, 0, 0, 0);
}
