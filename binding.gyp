{
  "targets": [
    {
      "target_name": "linsock_tap",
      "sources": [
        "lab/native/tap.c"
      ],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "linsock_sockbuf",
      "sources": [
        "lab/native/socket-buffer.c"
      ],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    }
  ]
}
