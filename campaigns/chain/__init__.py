"""On-chain side of HuFi: reading reward transfers to our wallet with web3.py."""
