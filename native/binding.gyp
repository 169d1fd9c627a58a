{
  "targets": [
    {
      "target_name": "hadhcp_native",
      "sources": ["src/packet.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
