{
  "targets": [
    {
      "target_name": "hadhcp_native",
      "sources": ["src/packet.c", "src/notify.c", "src/udp.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
