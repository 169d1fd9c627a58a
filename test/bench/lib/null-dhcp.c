/*
 * A DHCP "server" that costs (almost) nothing: the bench's yardstick for its load generator. It answers every
 * relayed DISCOVER with an OFFER and every REQUEST with an ACK for a made-up address, with no lease state, no
 * configuration and no disk, reading and writing in batches (recvmmsg/sendmmsg). What perfdhcp completes
 * against it is the most the generator can drive on this machine: a ceiling no real server can pass.
 *
 *   null-dhcp <server-ip>      (binds <server-ip>:67; replies go to giaddr:67 from it)
 *
 * Not a DHCP server: no checks beyond what the bench's perfdhcp sends. Built and run only by test/bench/dhcp.ts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 1500
#define MAGIC_AT 236

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: null-dhcp <server-ip>\n");
    return 2;
  }
  struct in_addr self;
  if (inet_pton(AF_INET, argv[1], &self) != 1) {
    fprintf(stderr, "null-dhcp: bad address %s\n", argv[1]);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int one = 1, rcv = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(67), .sin_addr = self};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("null-dhcp: bind");
    return 1;
  }
  fprintf(stderr, "null-dhcp: listening on %s:67\n", argv[1]);

  static uint8_t in[BATCH][BUFSZ], out[BATCH][BUFSZ];
  struct mmsghdr rm[BATCH], sm[BATCH];
  struct iovec riov[BATCH], siov[BATCH];
  struct sockaddr_in to[BATCH];
  uint32_t next = 0;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      riov[i] = (struct iovec){in[i], BUFSZ};
      rm[i].msg_hdr = (struct msghdr){.msg_iov = &riov[i], .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    int k = 0;
    for (int i = 0; i < n; i++) {
      uint8_t *q = in[i];
      unsigned len = rm[i].msg_len;
      if (len < MAGIC_AT + 7 || q[0] != 1) continue;
      uint8_t type = 0;
      for (unsigned o = MAGIC_AT + 4; o + 1 < len && q[o] != 255;) {
        if (q[o] == 0) {
          o++;
          continue;
        }
        if (q[o] == 53 && q[o + 1] == 1 && o + 2 < len) type = q[o + 2];
        o += 2 + q[o + 1];
      }
      if (type != 1 && type != 3) continue;
      uint8_t *p = out[k];
      memcpy(p, q, MAGIC_AT + 4); /* header, chaddr, giaddr, xid, magic cookie */
      p[0] = 2;
      memset(p + 12, 0, 4);                               /* ciaddr */
      uint32_t yi = htonl(0x0a100100u + (next++ % 0xe0000u)); /* 10.16.1.0 + n */
      if (type == 3) {
        /* REQUEST: ACK the address it asks for (option 50), as perfdhcp checks nothing more. */
        for (unsigned o = MAGIC_AT + 4; o + 1 < len && q[o] != 255;) {
          if (q[o] == 0) {
            o++;
            continue;
          }
          if (q[o] == 50 && q[o + 1] == 4 && o + 6 <= len) memcpy(&yi, q + o + 2, 4);
          o += 2 + q[o + 1];
        }
      }
      memcpy(p + 16, &yi, 4);
      memcpy(p + 20, &self, 4); /* siaddr */
      unsigned o = MAGIC_AT + 4;
      p[o++] = 53, p[o++] = 1, p[o++] = type == 1 ? 2 : 5;
      p[o++] = 54, p[o++] = 4, memcpy(p + o, &self, 4), o += 4;
      p[o++] = 51, p[o++] = 4, p[o++] = 0, p[o++] = 0, p[o++] = 0x0e, p[o++] = 0x10;
      p[o++] = 1, p[o++] = 4, p[o++] = 255, p[o++] = 240, p[o++] = 0, p[o++] = 0;
      p[o++] = 255;
      while (o < 300) p[o++] = 0;
      to[k] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(67)};
      memcpy(&to[k].sin_addr, q + 24, 4); /* giaddr */
      siov[k] = (struct iovec){p, o};
      sm[k].msg_hdr = (struct msghdr){.msg_name = &to[k], .msg_namelen = sizeof to[k], .msg_iov = &siov[k], .msg_iovlen = 1};
      k++;
    }
    for (int s = 0; s < k;) {
      int m = sendmmsg(fd, sm + s, k - s, 0);
      s += m > 0 ? m : 1; /* a message the kernel refuses is skipped, not the rest of the batch */
    }
  }
}
