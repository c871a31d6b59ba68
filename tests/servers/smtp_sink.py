"""A real SMTP server (aiosmtpd) for the email tests, scripted by the recipient's local part.

Usage: python smtp_sink.py OUTDIR
Prints "READY <port>" once listening on 127.0.0.1 (an OS-chosen port). Every message it
accepts is written to OUTDIR as <n>.eml (the exact DATA bytes) with <n>.json beside it
(envelope sender and recipients), written before the reply, so a test that sees the reply
sees the file.

Recipient scripts (local part of the first recipient):
  tempfail-N...   answer DATA with 451 the first N times, then accept
  bounce...       answer RCPT with 550 5.1.1 (no such user)
  drop-once...    store the message, then drop the connection without replying, once
  anything else   accept with 250
"""

import asyncio
import json
import os
import re
import socket
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0
        self.attempts = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("bounce"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def store(self, envelope):
        self.count += 1
        base = os.path.join(self.outdir, "%04d" % self.count)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with open(base + ".tmp", "wb") as f:
            f.write(data)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".tmp", base + ".eml")

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0].lower()
        local = rcpt.split("@")[0]
        seen = self.attempts.get(rcpt, 0)
        self.attempts[rcpt] = seen + 1
        m = re.match(r"tempfail-(\d+)", local)
        if m and seen < int(m.group(1)):
            return "451 4.3.0 Temporary local problem, try again later"
        if local.startswith("drop-once") and seen == 0:
            self.store(envelope)
            sock = server.transport.get_extra_info("socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            server.transport.abort()
            return "250 OK (never seen: the connection is gone)"
        self.store(envelope)
        return "250 2.0.0 OK queued"


async def main(outdir):
    handler = Sink(outdir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, decode_data=False),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
