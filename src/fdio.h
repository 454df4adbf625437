/*
 * fdio.h - whole writes to a file descriptor.
 *
 * fd_write_all - write len bytes, going on after short writes and EINTR.
 * 0, or -1 with errno set (EIO if write returned 0).
 * fd_fsync - fsync(2), again after EINTR; 0 or -1 with errno set.
 * Header-only: every program and library that writes files or pipes uses
 * them.
 */
#ifndef MIX_FDIO_H
#define MIX_FDIO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

static inline int
fd_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int
fd_fsync(int fd)
{
	while (fsync(fd) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

#endif
