"""HuFi stand-ins: the campaign launcher and the recording oracle (Hu-Fi/hufi), on loopback."""
