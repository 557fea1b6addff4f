"""Every op kind, defined once: how it is validated, decided, applied and logged.

Pure code: no I/O, no Flask, no clock. Three places use it:

- the namespace (and the HTTP emitter) :meth:`OpKind.parse` a client's payload
  into a *body*, the op's arguments without ``note``;
- the store, inside its transaction, asks :meth:`OpKind.decide` what the body
  means for the note as it stands (which ids are held, what a restore brings
  back), which gives the op *as it travels*; it applies that op to its working
  copy of the note and logs the op whole, so ``join since`` and history replay
  every kind;
- replicas (:class:`NoteState`, the Python client's) :meth:`OpKind.apply` the
  travelling op: the same function the store used.

A note's state is its live items by id, each with the ``seq`` of the op that
added it (its layer, later on top), plus the items removed or cleared, kept
whole so that ``restore`` brings them back as they were. Adding an op kind is
one subclass registered in :data:`KINDS`, one step in ``static/js/replica.js``,
and fixtures under ``tests/fixtures/ops/``, which every implementation runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import protocol
from .errors import BadRequest, NotFound

Item = dict[str, Any]
Op = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Limits:
    """The server's limits that validation needs."""

    max_points: int = protocol.MAX_POINTS
    #: Whether ``image`` items are accepted (where the files API checks their file).
    images: bool = True


class Duplicate(Exception):
    """A stroke whose id the note already knows: nothing changes, the ack carries ``seq``."""

    def __init__(self, seq: int, peer: str) -> None:
        super().__init__(seq)
        self.seq = seq
        self.peer = peer


@dataclass(slots=True)
class NoteState:
    """A note's items as its ops left them (the whole note, or the part a store loaded)."""

    #: Live items by id (each a travelling stroke: ``type``, ``seq``, ``peer``, ``id``, fields).
    items: dict[str, Item] = field(default_factory=dict)
    #: Items removed or cleared, as they were when they left: what ``restore`` brings back.
    removed: dict[str, Item] = field(default_factory=dict)
    #: The last seq applied.
    seq: int = 0
    #: Ids of the files uploaded to the note that image items may name (``None``: not checked here).
    files: set[str] | None = None

    def knows(self, item_id: str) -> bool:
        """Whether the id was ever used in this note (live or removed): it stays taken."""
        return item_id in self.items or item_id in self.removed

    def listing(self) -> list[Item]:
        """The live items in layer order (by the seq that added each)."""
        return sorted(self.items.values(), key=_layer)

    def apply(self, op: Op) -> None:
        """Apply one travelling op (see :meth:`OpKind.apply`) and advance ``seq``."""
        KINDS[op["type"]].apply(self, op)
        self.seq = max(self.seq, op["seq"])

    @classmethod
    def replay(cls, ops: Iterable[Op]) -> NoteState:
        """The state a sequence of ops (in seq order) leaves, starting from an empty note."""
        state = cls()
        for op in ops:
            state.apply(op)
        return state


def _layer(item: Item) -> int:
    return item["seq"]  # type: ignore[no-any-return]


def item_of(op: Op) -> Item:
    """The item a ``stroke`` op adds, without the event's ``note``.

    The op itself when it has no ``note`` (as the store makes them): states
    never change an item in place (updates and moves make new dicts), so the
    two may share it.
    """
    return {k: v for k, v in op.items() if k != "note"} if "note" in op else op


class OpKind:
    """One op kind of the contract. Subclasses fill in each step; all are pure."""

    #: The op's ``type`` and the client event that asks for it.
    name: ClassVar[str]
    #: True for a kind that removes every live item (the store clears rows it did not load).
    clears_all: ClassVar[bool] = False

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        """The body of a client event (everything but ``note``), validated; raises ``BadRequest``/``TooLarge``."""
        raise NotImplementedError

    def ids(self, body: dict[str, Any]) -> Iterator[str]:
        """The item ids :meth:`decide` needs to know about (the store loads just these)."""
        return iter(())

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        """The op as it travels for ``body`` against ``state``; raises ``NotFound``, ``BadRequest`` or ``Duplicate``."""
        raise NotImplementedError

    def apply(self, state: NoteState, op: Op) -> None:
        """Change ``state`` as ``op`` says (never raises for ids that are not there: they are skipped)."""
        raise NotImplementedError

    def touched(self, op: Op) -> Iterable[str]:
        """The item ids whose content or liveness ``op`` changes (what a store writes back)."""
        return ()

    def added(self, op: Op) -> int:
        """How many live items ``op`` adds (for the per-note cap)."""
        return 0

    def ack(self, op: Op) -> dict[str, Any]:
        """Fields of the sender's ack beyond ``ok`` and ``seq``."""
        return {}


class StrokeKind(OpKind):
    """``stroke``: add an item (an id already known changes nothing)."""

    name = "stroke"

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        return dict(protocol.stroke(payload, limits.max_points, images=limits.images))

    def ids(self, body: dict[str, Any]) -> Iterator[str]:
        yield body["id"]

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        known = state.items.get(body["id"]) or state.removed.get(body["id"])
        if known is not None:
            raise Duplicate(known["seq"], known["peer"])
        if "file" in body and state.files is not None and body["file"] not in state.files:
            raise BadRequest(f"file {body['file']!r:.80} was not uploaded to this note; upload it first")
        return {"type": "stroke", "seq": seq, "peer": peer, **body}

    def apply(self, state: NoteState, op: Op) -> None:
        if not state.knows(op["id"]):
            state.items[op["id"]] = item_of(op)

    def touched(self, op: Op) -> Iterable[str]:
        return (op["id"],)

    def added(self, op: Op) -> int:
        return 1


class RemoveKind(OpKind):
    """``remove``: one live item leaves the state, kept whole for ``restore``."""

    name = "remove"

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        return {"id": protocol.stroke_id(payload.get("id"))}

    def ids(self, body: dict[str, Any]) -> Iterator[str]:
        yield body["id"]

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        if body["id"] not in state.items:
            raise NotFound(f"the note holds no item with id {body['id']!r}")
        return {"type": "remove", "seq": seq, "peer": peer, "id": body["id"]}

    def apply(self, state: NoteState, op: Op) -> None:
        item = state.items.pop(op["id"], None)
        if item is not None:
            state.removed[op["id"]] = item

    def touched(self, op: Op) -> Iterable[str]:
        return (op["id"],)


class ClearKind(OpKind):
    """``clear``: every live item leaves the state (an op even on an empty note)."""

    name = "clear"
    clears_all = True

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        return {}

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        return {"type": "clear", "seq": seq, "peer": peer}

    def apply(self, state: NoteState, op: Op) -> None:
        state.removed.update(state.items)
        state.items.clear()


class UpdateKind(OpKind):
    """``update``: new values for fields of one live item (``fill: null`` removes the fill)."""

    name = "update"

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        return {
            "id": protocol.stroke_id(payload.get("id")),
            "set": protocol.update_set(payload.get("set"), limits.max_points),
        }

    def ids(self, body: dict[str, Any]) -> Iterator[str]:
        yield body["id"]

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        item = state.items.get(body["id"])
        if item is None:
            raise NotFound(f"the note holds no item with id {body['id']!r}")
        protocol.check_item(_updated(item, body["set"]), limits.max_points)
        return {"type": "update", "seq": seq, "peer": peer, "id": body["id"], "set": body["set"]}

    def apply(self, state: NoteState, op: Op) -> None:
        item = state.items.get(op["id"])
        if item is not None:
            state.items[op["id"]] = _updated(item, op["set"])

    def touched(self, op: Op) -> Iterable[str]:
        return (op["id"],)


def _updated(item: Item, changes: dict[str, Any]) -> Item:
    out = dict(item)
    for key, value in changes.items():
        if key not in protocol.UPDATABLE:
            continue  # a newer server's field: ignore, as for unknown fields
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class MoveKind(OpKind):
    """``move``: translate live items by (dx, dy); ids not held are skipped."""

    name = "move"

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        return protocol.move(payload)

    def ids(self, body: dict[str, Any]) -> Iterator[str]:
        return iter(body["ids"])

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        ids = [i for i in body["ids"] if i in state.items]
        if not ids:
            raise NotFound("the note holds none of the items to move")
        dx, dy = body["dx"], body["dy"]
        for i in ids:
            for x, y in state.items[i]["points"]:
                if abs(x + dx) > protocol.MAX_COORD or abs(y + dy) > protocol.MAX_COORD:
                    raise BadRequest(f"moving item {i!r} by ({dx:g}, {dy:g}) takes it past 1e6")
        return {"type": "move", "seq": seq, "peer": peer, "ids": ids, "dx": dx, "dy": dy}

    def apply(self, state: NoteState, op: Op) -> None:
        dx, dy = op["dx"], op["dy"]
        for i in op["ids"]:
            item = state.items.get(i)
            if item is not None:
                state.items[i] = {**item, "points": [[x + dx, y + dy] for x, y in item["points"]]}

    def touched(self, op: Op) -> Iterable[str]:
        return op["ids"]  # type: ignore[no-any-return]

    def ack(self, op: Op) -> dict[str, Any]:
        return {"ids": op["ids"]}


class RestoreKind(OpKind):
    """``restore``: removed or cleared items come back whole, in their original layer."""

    name = "restore"

    def parse(self, payload: dict[str, Any], limits: Limits) -> dict[str, Any]:
        return protocol.restore(payload)

    def ids(self, body: dict[str, Any]) -> Iterator[str]:
        return iter(body["ids"])

    def decide(self, state: NoteState, body: dict[str, Any], seq: int, peer: str, limits: Limits) -> Op:
        items = [state.removed[i] for i in body["ids"] if i in state.removed and i not in state.items]
        if not items:
            raise NotFound("none of these items can be restored (each must have been removed or cleared)")
        return {"type": "restore", "seq": seq, "peer": peer, "items": items}

    def apply(self, state: NoteState, op: Op) -> None:
        for item in op["items"]:
            state.removed.pop(item["id"], None)
            state.items[item["id"]] = dict(item)

    def touched(self, op: Op) -> Iterable[str]:
        return [item["id"] for item in op["items"]]

    def added(self, op: Op) -> int:
        return len(op["items"])

    def ack(self, op: Op) -> dict[str, Any]:
        return {"ids": [item["id"] for item in op["items"]]}


#: Every op kind by name: the client event, the op's ``type`` and the log's ``kind``.
KINDS: dict[str, OpKind] = {
    k.name: k for k in (StrokeKind(), RemoveKind(), ClearKind(), UpdateKind(), MoveKind(), RestoreKind())
}
#: The kinds' names, in the contract's order.
OP_KINDS: tuple[str, ...] = tuple(KINDS)


def inverse(op: Op, before: NoteState) -> list[tuple[str, dict[str, Any]]]:
    """The events (``(event, payload)`` without ``note``) that undo ``op``, given the state just before it.

    As the contract describes for clients: a stroke is undone by a remove, a
    remove or clear by restoring what it removed, a move by the opposite move,
    an update by the previous values, a restore by removing what came back.
    Empty when there is nothing to undo (a clear of an empty note).
    """
    kind = op["type"]
    if kind == "stroke":
        return [("remove", {"id": op["id"]})]
    if kind == "remove":
        return [("restore", {"ids": [op["id"]]})]
    if kind == "clear":
        ids = [i["id"] for i in before.listing()]
        return [
            ("restore", {"ids": ids[j : j + protocol.MAX_RESTORE_IDS]})
            for j in range(0, len(ids), protocol.MAX_RESTORE_IDS)
        ]
    if kind == "move":
        return [("move", {"ids": list(op["ids"]), "dx": -op["dx"], "dy": -op["dy"]})]
    if kind == "update":
        item = before.items.get(op["id"], {})
        return [("update", {"id": op["id"], "set": {k: item.get(k) for k in op["set"]}})]
    if kind == "restore":
        return [("remove", {"id": i["id"]}) for i in op["items"]]
    return []
