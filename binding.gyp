{
  "targets": [
    {
      "target_name": "linsock_tap",
      "sources": [
        "native/tap.c"
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
        "native/socket-buffer.c"
      ],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "linsock_proc",
      "sources": [
        "native/process-limits.c"
      ],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "linsock_shm",
      "sources": [
        "native/shm-channel.c"
      ],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "linsock_devpoll",
      "sources": [
        "native/device-poll.c"
      ],
      "cflags": [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    },
    {
      "target_name": "linsock_fdpass",
      "sources": [
        "native/fd-pass.c"
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
