#!/usr/bin/python3
"""pyghmi's BMC server class as a benchmark peer: the engine of OpenStack
VirtualBMC, answering Get Chassis Status from get_power_state().

usage: pyghmi_bmc.py ADDRESS PORT USER PASSWORD   (ADDRESS must be 127.x)"""
import sys

import pyghmi.ipmi.bmc as bmc


class BenchBmc(bmc.Bmc):
    def get_power_state(self):
        return "on"


def main():
    addr, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if not addr.startswith("127."):
        sys.exit("pyghmi_bmc: loopback addresses only")
    BenchBmc({user: password}, port=port, address=addr).listen()


if __name__ == "__main__":
    main()
