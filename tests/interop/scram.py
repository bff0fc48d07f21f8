"""The client side of SCRAM (RFC 5802) for the interop tests, with a chosen
GS2 header: "n,," (no channel binding), "y,," (the client could bind but
thinks the server cannot) or "p=tls-unique,," / "p=tls-exporter,," with the
channel-binding data (RFC 5929, RFC 9266)."""

import base64
import hashlib
import hmac

from conftest import b64


class Scram:
    def __init__(self, hname, user, password, gs2="n,,", cbdata=b"",
                 cnonce="rOprNGfwEbeRWgbNEkqOtest"):
        self.hname, self.user, self.password = hname, user, password
        self.gs2, self.cbdata, self.cnonce = gs2, cbdata, cnonce
        self.first_bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), cnonce)
        self.verifier = None

    def client_first(self):
        return self.gs2 + self.first_bare

    def client_final(self, server_first):
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(self.cnonce), server_first
        salted = hashlib.pbkdf2_hmac(self.hname, self.password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        # c= is the GS2 header and the binding data ("biws" for "n,,")
        without_proof = "c=%s,r=%s" % (b64(self.gs2.encode() + self.cbdata), attrs["r"])
        auth_message = ",".join([self.first_bare, server_first, without_proof]).encode()
        client_key = hmac.new(salted, b"Client Key", self.hname).digest()
        stored = hashlib.new(self.hname, client_key).digest()
        sig = hmac.new(stored, auth_message, self.hname).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", self.hname).digest()
        self.verifier = "v=" + b64(hmac.new(server_key, auth_message, self.hname).digest())
        return without_proof + ",p=" + b64(proof)


def hash_of(mech):
    return "sha256" if mech.startswith("SCRAM-SHA-256") else "sha1"


def scram_exchange(c, mech, user, password, gs2="n,,", cbdata=b""):
    """AUTH mech with an initial response over a conftest.Raw client; returns
    the final reply (235 on success). Checks the server's proof when it
    sends one."""
    s = Scram(hash_of(mech), user, password, gs2, cbdata)
    r = c.cmd("AUTH %s %s" % (mech, b64(s.client_first())))
    if r.code != 334:
        return r
    r = c.cmd(b64(s.client_final(base64.b64decode(r.text).decode())))
    if r.code != 334:
        return r
    assert base64.b64decode(r.text).decode() == s.verifier  # the server proved itself
    return c.cmd("")
