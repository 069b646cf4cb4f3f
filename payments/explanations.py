"""What explains each payment line's amount, stored once however many lines share it.

An explanation is the steps that computed an amount (``rules.steps``: each a code, its values and
its result) and the Standard rows of the parameters they used. This module owns all of it:

* its text: the canonical JSON of ``{"steps": [...], "versions": {...}}`` (keys sorted, no
  spaces), and its digest, the SHA-256 of that text, which a line carries (``explanation_ref``);
* the worker's memos that spare a batch rendering and hashing the same explanation again;
* storing it: ``store`` (a batch chunk's, COPY on PostgreSQL) and ``create_lines`` (lines made
  with the ORM: corrections, relief instalments);
* putting it into words when it is read (``in_words``), in the reader's language, with the
  effective date of each parameter it used.

Explanations are written once and never changed (the database refuses it) or deleted: a line's
digest names its explanation for ever. Those stored before steps had codes still read as they
were written (``rules.steps.render_step``).
"""

import hashlib
import json
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence

from django.db import connection, transaction

from payments.models import PaymentExplanation, PaymentLine
from payments.payroll_io import copy_text
from rules.engine import Result
from rules.selectors import render_explanation, standard_sources
from rules.steps import Source, step_dict, step_json


def canonical_json(value) -> str:
    """The one text of a JSON value that its digest is taken of: keys sorted, no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def explanation_text(steps_text: str, versions_text: str) -> str:
    """The canonical text of an explanation from the canonical texts of its two parts: the same
    as ``canonical_json({"steps": steps, "versions": versions})``, built without re-serializing
    them (a batch remembers each part's text)."""
    return '{"steps":' + steps_text + ',"versions":' + versions_text + "}"


def make(steps: Sequence[Mapping | tuple], versions: Mapping[str, int] | None = None):
    """An unsaved explanation of these steps (stored dicts, or steps as recorded) and versions:
    give it to a line (``explanation_ref``) and write the line with ``create_lines``."""
    dicts = [step if isinstance(step, Mapping) else step_dict(step) for step in steps]
    text = explanation_text(canonical_json(dicts), canonical_json(dict(versions or {})))
    return PaymentExplanation(digest=digest_of(text), text=text)


# ---------------------------------------------------------------------------------------------
# The worker's memos.


class Memo(dict):
    """A dict that forgets everything when it grows past ``limit`` entries: what it maps is a
    pure function of its keys, so it may outlive a chunk (a worker renders each recurring step
    and explanation once) while memory stays bounded."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def remember(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


# Per worker process, bounded: a recorded step → its JSON text; (steps, versions text) → the
# digest of the whole explanation; versions → their JSON text. Sized to stay well under the
# worker's memory budget (512 MB) while holding what a province's batch repeats.
_FRAGMENTS = Memo(50_000)
_DIGESTS = Memo(20_000)
_VERSIONS = Memo(10_000)


def steps_text(steps: Iterable[tuple]) -> str:
    """The canonical JSON text of recorded steps, joined from each step's remembered JSON
    (byte for byte ``canonical_json([step_dict(s) for s in steps])``)."""
    parts = []
    for step in steps:
        fragment = _FRAGMENTS.get(step)
        if fragment is None:
            fragment = _FRAGMENTS.remember(step, step_json(step))
        parts.append(fragment)
    return "[" + ",".join(parts) + "]"


def versions_text(versions: Mapping[str, int]) -> str:
    """The canonical JSON text of a result's parameter versions, remembered."""
    key = tuple(versions.items())
    text = _VERSIONS.get(key)
    if text is None:
        text = _VERSIONS.remember(key, canonical_json(versions))
    return text


def text_of(result: Result) -> str:
    """The explanation text of an engine result."""
    return explanation_text(steps_text(result.steps), versions_text(result.versions))


class ChunkExplanations(Mapping):
    """The explanations a batch chunk's lines use: digest → text.

    ``digest(result)`` gives a result's digest, remembered by the worker for its steps and
    versions, so a recurring explanation is neither rendered nor hashed again. One the worker
    renders for the first time is kept as text. One it knew is kept as the recipe of a line
    that uses it (``add``): ``recompute(recipe)`` gives the Result again, and its text is
    rendered only if asked for (``store`` asks only for those the database lacks: few).
    """

    def __init__(self, recompute: Callable[[tuple], Result]):
        self._recompute = recompute
        self._entries: dict[str, object] = {}
        self._versions_seen: dict[int, tuple[dict, str]] = {}

    def digest(self, result: Result) -> str:
        versions = self._versions_text(result.versions)
        key = (tuple(result.steps), versions)
        digest = _DIGESTS.get(key)
        if digest is None:
            text = explanation_text(steps_text(result.steps), versions)
            digest = _DIGESTS.remember(key, digest_of(text))
            self._entries[digest] = text
        return digest

    def add(self, digest: str, recipe: tuple) -> None:
        """Note a recipe for ``digest`` unless its text is known already."""
        if digest not in self._entries:
            self._entries[digest] = recipe

    @property
    def noted(self) -> Container[str]:
        """The digests noted so far (a text or a recipe each): a caller adding a line for each
        of a million enrolments asks this before it makes a recipe for ``add``."""
        return self._entries

    def _versions_text(self, versions: dict) -> str:
        # Remembered by identity too: results of one rule share their versions dict (the entry
        # keeps the dict alive, so its id is not reused while the chunk's explanations live).
        seen = self._versions_seen.get(id(versions))
        if seen is not None and seen[0] is versions:
            return seen[1]
        text = versions_text(versions)
        self._versions_seen[id(versions)] = (versions, text)
        return text

    def __getitem__(self, digest: str) -> str:
        entry = self._entries[digest]
        if entry.__class__ is not str:
            entry = self._entries[digest] = text_of(self._recompute(entry))
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


# ---------------------------------------------------------------------------------------------
# Storing.


# Per worker process: the digests this worker has seen stored, per batch computation (see
# stored_digests). An explanation is never deleted (explanation_written_once), so one seen
# stored stays stored and a chunk need not ask again.
_STORED: dict[tuple, set[str]] = {}
_STORED_BATCHES = 4  # a province's batches computed together take turns
STORED_LIMIT = 200_000  # digests per batch (~25 MB), past which the set starts again


def stored_digests(key: tuple) -> set[str]:
    """The digests seen stored while computing the batch ``key`` names (its id and when it was
    made), for ``store(known=…)``. Kept for the few batches used last; ``forget_stored`` drops
    them all (a failed chunk calls it: a database restored from a backup, or emptied by hand,
    may have lost what was seen)."""
    found = _STORED.pop(key, None)
    if found is None or len(found) > STORED_LIMIT:
        found = set()
    _STORED[key] = found  # the most recently used last
    while len(_STORED) > _STORED_BATCHES:
        _STORED.pop(next(iter(_STORED)), None)
    return found


def forget_stored() -> None:
    _STORED.clear()


def store(explanations: Mapping[str, str], *, known: set[str] | None = None) -> None:
    """Store the explanations not stored yet: digest → canonical JSON text.

    PostgreSQL: one query finds those already stored (most are: identical facts recur every
    month); the others are copied into a transaction's scratch table and inserted from it in
    digest order (two writers never deadlock) with ON CONFLICT DO NOTHING (another worker may
    store the same one meanwhile). A batch chunk commits them before its lines, in a short
    transaction of their own, so a worker storing the same explanation waits only for that.
    ``known``: digests the caller has seen stored (``stored_digests``), not asked about again;
    the ones this call asks about are added to it when its transaction commits. Elsewhere:
    bulk_create, in digest order.
    """
    digests = list(explanations) if known is None else [d for d in explanations if d not in known]
    if not digests:
        return
    table = PaymentExplanation._meta.db_table
    # In a transaction of its own when called outside one (the scratch table lives as long).
    with transaction.atomic():
        if known is not None:
            transaction.on_commit(lambda: known.update(digests))
        if connection.vendor != "postgresql":
            PaymentExplanation.objects.bulk_create(
                [PaymentExplanation(digest=d, text=explanations[d]) for d in sorted(digests)],
                ignore_conflicts=True,
                batch_size=500,
            )
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT digest FROM {table} WHERE digest = ANY(%s::text[])",
                ["{" + ",".join(digests) + "}"],  # hex digests: a literal, dumped at once
            )
            stored = {digest for (digest,) in cursor.fetchall()}
            missing = sorted(set(digests) - stored)
            if not missing:
                return
            cursor.execute(
                "CREATE TEMP TABLE explanation_stage (digest text, text text) ON COMMIT DROP"
            )
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy("COPY explanation_stage (digest, text) FROM STDIN") as copy,
            ):
                copy.write(
                    "".join(
                        [f"{digest}\t{copy_text(explanations[digest])}\n" for digest in missing]
                    )
                )
            cursor.execute(
                f"INSERT INTO {table} (digest, text) SELECT digest, text FROM explanation_stage "
                "ORDER BY digest ON CONFLICT DO NOTHING"
            )
            cursor.execute("DROP TABLE explanation_stage")


def create_lines(lines: Iterable[PaymentLine]) -> list[PaymentLine]:
    """Write lines made with the ORM, each given its explanation (``make``): the explanations
    first, then the lines in one bulk insert."""
    lines = list(lines)
    store({line.explanation_ref.digest: line.explanation_ref.text for line in lines})
    return PaymentLine.objects.bulk_create(lines)


# ---------------------------------------------------------------------------------------------
# Reading.


def sources_for(explanations: Iterable[PaymentExplanation]) -> dict[int, Source]:
    """The Standard rows named by these explanations, by id, read in one query."""
    ids = {vid for explanation in explanations for vid in explanation.versions.values()}
    return standard_sources(ids)


def in_words(
    line: PaymentLine, *, lang: str | None = None, sources: Mapping[int, Source] | None = None
) -> dict:
    """A line's explanation as its reader reads it (rules.steps.render): steps, parameters used
    and text, in ``lang`` (the active language by default). ``sources`` (``sources_for``)
    spares a query per line in a list."""
    explanation = line.explanation_ref
    return render_explanation(
        amount=line.amount,
        steps=explanation.steps,
        versions=explanation.versions,
        lang=lang,
        sources=sources,
    )
