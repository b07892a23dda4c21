{
  "targets": [
    {
      "target_name": "linsock_tap",
      "sources": ["lab/native/tap.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
