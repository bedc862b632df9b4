"""Who sent a request: bearer tokens from a kube-apiserver static token file, or anonymous.

The file is kube-apiserver's ``--token-auth-file`` CSV: ``token,user,uid[,"group1,group2"]``
per line (``#`` comments and blank lines skipped). Tokens are kept only as SHA-256 digests and
looked up by the digest of what a request presents, so neither memory nor timing reveals them.
Every authenticated user is also in ``system:authenticated``; anonymous requests (only when the
server has no tokens at all, or ``anonymous`` is on) are ``system:anonymous`` in
``system:unauthenticated``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping, Sequence

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
MASTERS = "system:masters"


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def to_api(self) -> dict[str, object]:
        out: dict[str, object] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ANONYMOUS = User("system:anonymous", groups=(UNAUTHENTICATED,))


def _digest(token: str) -> str:
    # surrogateescape: aiohttp hands over a header's undecodable bytes as surrogates (a 401, not a 500)
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def parse_token_file(text: str, source: str = "token file") -> dict[str, User]:
    """Token CSV -> {sha256(token): user}; a malformed line is an error naming the line."""
    users: dict[str, User] = {}
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for number, row in enumerate(csv.reader(io.StringIO("\n".join(lines))), start=1):
        cells = [c.strip() for c in row]
        if len(cells) < 3 or not cells[0] or not cells[1]:
            raise ValueError(f"{source}: line {number}: expected token,user,uid[,\"group1,group2\"]")
        groups = tuple(g.strip() for g in cells[3].split(",") if g.strip()) if len(cells) > 3 else ()
        key = _digest(cells[0])
        if key in users:
            raise ValueError(f"{source}: line {number}: duplicate token")
        users[key] = User(cells[1], cells[2], groups)
    return users


#: another kind of token (a service-account JWT): the user it proves for one of the audiences (empty:
#: the API server's own), or None when it is not its kind, not valid, or meant for other audiences
TokenVerifier = Callable[[str, Sequence[str]], "User | None"]


class TokenAuthenticator:
    """Static tokens (audience-agnostic, as kube-apiserver's), then any ``verifiers``; ``add``
    registers one more static token (the legacy single ``--token`` is an admin)."""

    def __init__(self, users: Mapping[str, User] | None = None, verifiers: Iterable[TokenVerifier] = ()) -> None:
        self._users: dict[str, User] = dict(users or {})
        self.verifiers = list(verifiers)

    def with_verifiers(self, *verifiers: TokenVerifier) -> TokenAuthenticator:
        """A copy with ``verifiers`` added (the caller's authenticator is left as it was)."""
        return TokenAuthenticator(self._users, [*self.verifiers, *verifiers])

    @classmethod
    def from_file(cls, path: str) -> TokenAuthenticator:
        with open(path, encoding="utf-8") as f:
            return cls(parse_token_file(f.read(), path))

    def add(self, token: str, user: User) -> None:
        self._users[_digest(token)] = user

    def __bool__(self) -> bool:
        """Whether any static token was configured. Verifiers do not count: the server mints the
        service-account tokens they accept, so they are no reason to turn anonymous access off."""
        return bool(self._users)

    def authenticate(self, token: str, audiences: Sequence[str] = ()) -> User | None:
        user = self._users.get(_digest(token))
        for verify in self.verifiers:
            if user is not None:
                break
            user = verify(token, audiences)
        if user is None:
            return None
        groups = user.groups if AUTHENTICATED in user.groups else (*user.groups, AUTHENTICATED)
        return dataclasses.replace(user, groups=groups)

    def users(self) -> Iterable[User]:
        return self._users.values()
