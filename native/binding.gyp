{
  "targets": [
    {
      "target_name": "hadhcp_native",
      "sources": ["src/packet.c", "src/notify.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
