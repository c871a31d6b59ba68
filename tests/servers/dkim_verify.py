"""Verifies a message's DKIM signature with dkimpy, independently of our signer.

Usage: python dkim_verify.py MESSAGE.eml PUBLIC_TXT_RECORD
The DNS lookup of <selector>._domainkey.<domain> is answered with PUBLIC_TXT_RECORD's
contents. Prints the verdict and exits 0 when the signature verifies, 1 when not.
"""

import sys

import dkim


def main(path, txt_path):
    with open(path, "rb") as f:
        message = f.read()
    with open(txt_path, "rb") as f:
        txt = f.read().strip()

    def dnsfunc(name, timeout=5):
        return txt

    d = dkim.DKIM(message)
    ok = d.verify(dnsfunc=dnsfunc)
    print("verified:", ok)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
