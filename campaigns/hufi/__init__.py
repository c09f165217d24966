"""The HuFi boundary: campaign launcher and recording oracle clients, token discipline, emulator."""
