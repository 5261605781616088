"""The dataset catalog: what each dataset is, who answers for it, and the rules it must follow.

One YAML file declares every dataset: its source, primary key, relationships, owner and steward,
purpose and lawful basis, column classifications, Great Expectations suite, and retention and
consent rules. It doubles as the record of processing activities (GDPR Art. 30).

>>> cat = load("catalog.yaml")
>>> cat.dataset("customers").pii_columns()[:3]
['customer_id', 'first_name', 'last_name']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from govlib.errors import CatalogError, UnknownDatasetError

DEFAULT_CATALOG = "catalog.yaml"
MAX_YAML_BYTES = 1024 * 1024  # a catalog or batch file larger than this is refused unread
MAX_PERIOD_MONTHS = 12 * 1000  # periods are bounded: at most 1,000 years
MAX_PERIOD_DAYS = 366 * 1000


class PiiKind(StrEnum):
    """Kinds of personal data govlib knows how to find and protect."""

    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"
    IP_ADDRESS = "ip_address"
    NATIONAL_ID = "national_id"
    DATE_OF_BIRTH = "date_of_birth"
    POSTCODE = "postcode"
    PERSON_NAME = "person_name"
    PERSON_ID = "person_id"
    FREE_TEXT = "free_text"


class Category(StrEnum):
    """How a column relates to a person."""

    DIRECT_IDENTIFIER = "direct_identifier"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    NON_PERSONAL = "non_personal"


DEFAULT_CATEGORY: dict[PiiKind, Category] = {
    PiiKind.EMAIL: Category.DIRECT_IDENTIFIER,
    PiiKind.PHONE: Category.DIRECT_IDENTIFIER,
    PiiKind.PAYMENT_CARD: Category.DIRECT_IDENTIFIER,
    PiiKind.IBAN: Category.DIRECT_IDENTIFIER,
    PiiKind.NATIONAL_ID: Category.DIRECT_IDENTIFIER,
    PiiKind.PERSON_NAME: Category.DIRECT_IDENTIFIER,
    PiiKind.PERSON_ID: Category.DIRECT_IDENTIFIER,
    PiiKind.IP_ADDRESS: Category.QUASI_IDENTIFIER,
    PiiKind.DATE_OF_BIRTH: Category.QUASI_IDENTIFIER,
    PiiKind.POSTCODE: Category.QUASI_IDENTIFIER,
    PiiKind.FREE_TEXT: Category.SENSITIVE,
}

ColumnType = Literal["string", "int64", "float64", "bool", "date", "datetime"]
LawfulBasis = Literal[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]
TODO = "TODO"  # a drafted value a person still has to give: loads, listed by `incomplete()`
INCOMPLETE_KEYS = ("owner", "steward", "purpose", "lawful_basis", "data_subjects")
Dimension = Literal["completeness", "validity", "uniqueness", "consistency", "timeliness"]

_PERIOD = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?$")


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar period: whole months plus days (ISO-8601 `P2Y`, `P24M`, `P90D`, `P1Y6M`)."""

    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: object) -> Period:
        """Parse an ISO-8601 duration of years, months, weeks and days."""
        match = _PERIOD.match(text.strip().upper()) if isinstance(text, str) else None
        if not match or not any(match.groupdict().values()):
            raise ValueError(
                f"expected an ISO-8601 period such as 'P24M', 'P2Y' or 'P90D', got {text!r}"
            )
        if any(len(v) > 7 for v in match.groupdict().values() if v):
            raise ValueError("expected a period of at most 1,000 years")
        g = {k: int(v or 0) for k, v in match.groupdict().items()}
        period = cls(months=12 * g["y"] + g["m"], days=7 * g["w"] + g["d"])
        if period.months == 0 and period.days == 0:
            raise ValueError(f"expected a period longer than zero, got {text!r}")
        if period.months > MAX_PERIOD_MONTHS or period.days > MAX_PERIOD_DAYS:
            raise ValueError("expected a period of at most 1,000 years")
        return period

    @property
    def polars_offset(self) -> str:
        """The period as a polars `offset_by` string, e.g. `24mo` or `24mo90d`."""
        parts = [f"{self.months}mo" if self.months else "", f"{self.days}d" if self.days else ""]
        return "".join(parts)

    def __str__(self) -> str:
        years, months = divmod(self.months, 12)
        text = "P" + (f"{years}Y" if years else "") + (f"{months}M" if months else "")
        return text + (f"{self.days}D" if self.days else "")


_NOT_FILE_ENCODINGS = frozenset(
    ["idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"]
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """A declared column: its type and, where personal, its classification."""

    type: ColumnType = "string"
    pii: PiiKind | None = None
    category: Category | None = None
    sensitivity: Literal["low", "medium", "high"] | None = None
    masked: bool = False
    standardise: Literal["email", "phone", "name", "country", "date"] | None = None
    format: str | None = None
    description: str = ""
    # "values": the steward allows this column's values (each held by at least k rows) in
    # shared outputs. Only a non-personal column may publish values.
    publish: Literal["values", "none"] = "none"

    @model_validator(mode="after")
    def _default_category(self) -> ColumnSpec:
        if self.category is None:
            category = DEFAULT_CATEGORY[self.pii] if self.pii else Category.NON_PERSONAL
            object.__setattr__(self, "category", category)
        if self.publish == "values" and self.personal:
            raise ValueError(
                "a personal column cannot publish its values; remove 'publish: values' "
                "or the column's personal classification"
            )
        return self

    @property
    def personal(self) -> bool:
        """True when the column holds personal data of any kind."""
        return self.category != Category.NON_PERSONAL


class SourceSpec(_Model):
    """Where a dataset's data lives and how to read it: a file path, or a database.

    A database source gives `uri` (no password in it) or `uri_env` (an environment variable
    holding the URI), and `table` or a read-only `query`; see `govlib.databases`.
    """

    path: str | None = None
    uri: str | None = None
    uri_env: str | None = None
    table: str | None = None
    query: str | None = None
    format: Literal["csv", "parquet", "ndjson"] | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    null_values: list[str] = Field(default_factory=lambda: [""])
    has_header: bool = True
    compression: Literal["auto", "none", "gzip"] = "auto"

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        given = [k for k in ("path", "uri", "uri_env") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'path' (a file), 'uri' or 'uri_env' (a database), "
                f"found {', '.join(given) or 'none'}"
            )
        if self.path is not None:
            if self.table is not None or self.query is not None:
                raise ValueError("'table' and 'query' belong to a database source, not a path")
            return self
        _check_database(self)
        return self

    @property
    def is_database(self) -> bool:
        """True for a database source (`uri` or `uri_env`)."""
        return self.path is None

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"expected a single character, got {value!r}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            name = codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"unknown text encoding {value!r}; use e.g. 'utf-8' or 'latin-1'"
            ) from None
        try:
            "a".encode(name)  # a text codec such as rot13 or base64 is no byte encoding
        except (LookupError, UnicodeError):
            name = "undefined"
        if name in _NOT_FILE_ENCODINGS:
            raise ValueError(
                f"{value!r} is not a character encoding of text files; use e.g. 'utf-8'"
            )
        return name


def _check_database(spec: SourceSpec) -> None:
    """A database source: no password in the catalog, a table or one read-only query."""
    from govlib import databases

    if (spec.table is None) == (spec.query is None):
        raise ValueError("a database source needs exactly one of 'table' or 'query'")
    if spec.uri_env is not None and not IDENTIFIER.fullmatch(spec.uri_env):
        raise ValueError("'uri_env' must name an environment variable, e.g. GOVLIB_CRM_URL")
    if spec.uri is not None:
        if databases.has_password(spec.uri):
            raise ValueError(
                f"'uri' holds a password ({databases.redact(spec.uri)}); never write one in "
                "the catalog: put the URI in an environment variable and name it in 'uri_env'"
            )
        if not databases.scheme_of(spec.uri):
            raise ValueError("'uri' needs a scheme, e.g. postgresql://, sqlite:///, duckdb:///")
    if spec.table is not None and not all(
        IDENTIFIER.fullmatch(part) for part in spec.table.split(".", 1)
    ):
        raise ValueError("'table' must be a table name, optionally schema.table")
    if spec.query is not None:
        databases.check_query(spec.query)


class Relationship(_Model):
    """A foreign key: `column` of this dataset points at `references` (`dataset.column`)."""

    column: str
    references: str

    @field_validator("references")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if value.count(".") != 1 or not all(value.split(".")):
            raise ValueError(f"expected 'dataset.column', got {value!r}")
        return value

    @property
    def target(self) -> tuple[str, str]:
        """The referenced (dataset, column)."""
        dataset, column = self.references.split(".")
        return dataset, column


class Condition(_Model):
    """A row filter, e.g. `{column: status, op: eq, value: closed}`."""

    column: str
    op: Literal["eq", "ne", "in", "not_in", "is_null", "not_null"] = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value")
        if self.op in ("eq", "ne") and (self.value is None or isinstance(self.value, list)):
            raise ValueError(f"op {self.op!r} needs a single value")
        return self


def _period(value: Any) -> Period:
    if isinstance(value, Period):
        return value
    return Period.parse(value)


PeriodField = Annotated[Period, PlainValidator(_period), PlainSerializer(str)]


class RetentionRule(_Model):
    """Keep matching records for `period` after `anchor`, then `action` them."""

    name: str
    where: Condition | None = None
    anchor: str
    period: PeriodField
    action: Literal["delete", "anonymise", "review"]
    description: str = ""


class ConsentEvents(_Model):
    """A consent event log where the latest event per subject and purpose wins."""

    dataset: str
    subject: str = "customer_id"
    purpose_column: str = "purpose"
    status_column: str = "status"
    time_column: str = "occurred_at"
    granted: str = "granted"
    withdrawn: str = "withdrawn"


class ConsentRule(_Model):
    """Processing for `purpose` needs consent no older than `max_age`."""

    purpose: str
    flag: str | None = None
    timestamp: str | None = None
    events: ConsentEvents | None = None
    max_age: PeriodField

    @model_validator(mode="after")
    def _has_evidence(self) -> ConsentRule:
        if self.flag is None and self.events is None:
            raise ValueError("give a consent 'flag' column, an 'events' log, or both")
        return self


DEFAULT_GATE_MINIMUM = 99.0  # every dimension, when no gate is declared anywhere


class Gate(_Model):
    """Minimum scores (0-100) a dataset must reach; unset dimensions are not gated.

    With no gate declared anywhere (neither catalog-wide nor on the dataset), the default gate
    applies: every dimension at least `DEFAULT_GATE_MINIMUM`, so bad data never passes
    silently. An explicit `gate: {}` on a dataset gates nothing.

    >>> Gate.default().model_dump()["uniqueness"], Gate.default().is_default
    (99.0, True)
    """

    overall: float | None = Field(default=None, ge=0, le=100)
    completeness: float | None = Field(default=None, ge=0, le=100)
    validity: float | None = Field(default=None, ge=0, le=100)
    uniqueness: float | None = Field(default=None, ge=0, le=100)
    consistency: float | None = Field(default=None, ge=0, le=100)
    timeliness: float | None = Field(default=None, ge=0, le=100)

    _default: bool = PrivateAttr(default=False)

    @classmethod
    def default(cls) -> Gate:
        """The gate in force when none is declared: every dimension >= 99."""
        dims = ("completeness", "validity", "uniqueness", "consistency", "timeliness")
        gate = cls(**dict.fromkeys(dims, DEFAULT_GATE_MINIMUM))
        gate._default = True
        return gate

    @property
    def is_default(self) -> bool:
        """Whether this is the default gate, applied because none was declared."""
        return self._default

    def declared(self) -> bool:
        """Whether any threshold is set."""
        return any(v is not None for v in self.model_dump().values())


class Limits(_Model):
    """Safety limits for reading sources (ad-hoc files use the same defaults)."""

    max_decompressed_mb: int = Field(default=512, gt=0)


class Dataset(_Model):
    """One dataset of the catalog."""

    description: str = ""
    source: SourceSpec
    primary_key: list[str] = Field(default_factory=list)
    subject_key: str | None = None
    relationships: list[Relationship] = Field(default_factory=list)
    owner: str
    steward: str
    purpose: str
    lawful_basis: Literal[LawfulBasis, "TODO"]
    data_subjects: str = "customers"
    recipients: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnSpec]
    suite: str | None = None
    # where checks run (default: by size); on spark, Spark reads the source itself
    engine: Literal["polars", "duckdb", "gx", "spark"] | None = None
    gate: Gate | None = None
    retention: list[RetentionRule] = Field(default_factory=list)
    consent: list[ConsentRule] = Field(default_factory=list)

    _name: str = PrivateAttr(default="")
    _catalog: Catalog | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        """The dataset's name in the catalog."""
        return self._name

    @property
    def catalog(self) -> Catalog:
        """The catalog that declares this dataset."""
        if self._catalog is None:  # pragma: no cover - only for hand-built datasets
            raise RuntimeError("dataset is not attached to a catalog")
        return self._catalog

    @field_validator("columns")
    @classmethod
    def _addressable(cls, columns: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        problem = name_problem(list(columns))
        if problem is not None:
            raise ValueError(problem)
        return columns

    def pii_columns(self) -> list[str]:
        """Columns declared as personal data, in declaration order."""
        return [name for name, spec in self.columns.items() if spec.personal]

    def publishable(self, column: str) -> bool:
        """True when shared outputs may hold `column`'s values (non-personal, `publish: values`)."""
        spec = self.columns.get(column)
        return spec is not None and not spec.personal and spec.publish == "values"

    @property
    def rule_count(self) -> int:
        """Number of retention and consent rules."""
        return len(self.retention) + len(self.consent)

    def schema(self) -> dict[str, ColumnType]:  # type: ignore[override]  # not pydantic's
        """The declared column types."""
        return {name: spec.type for name, spec in self.columns.items()}


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PATTERN_NAME_PROBLEM = (
    "a column named '*' or '^…$' is read by polars as a wildcard or a regular expression, "
    "never as that column; rename it in the source"
)


CASE_NAME_PROBLEM = (
    "differ only in letter case, and DuckDB, Spark and Great Expectations read them as one "
    "column; rename one in the source"
)


def name_problem(names: list[str]) -> str | None:
    """Why a list of column names cannot be checked safely on every engine, or None.

    A name polars reads as a pattern, one holding a NUL (Arrow and DuckDB end it there), and
    names equal but for letter case (DuckDB, Spark and GX match names without case) would make
    an engine read another column than the one named. Names are given by position only.

    >>> name_problem(["id", "Email", "email"])
    'columns 2 and 3 differ only in letter case, and DuckDB, Spark and Great Expectations read them as one column; rename one in the source'
    """  # noqa: E501
    exact: dict[str, int] = {}
    folded: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if reads_as_pattern(name):
            return f"column {position}: {PATTERN_NAME_PROBLEM}"
        if "\x00" in name:
            return f"column {position}: its name holds a NUL character; rename it in the source"
        if name in exact:
            return (
                f"duplicate column names: column {position} repeats column {exact[name]}; "
                "give each column its own name"
            )
        # lower(), not casefold(): the engines fold letter by letter, so `ß` stays apart from
        # `ss`, while the Kelvin sign meets `k` as DuckDB has it meet
        if name.lower() in folded:
            return f"columns {folded[name.lower()]} and {position} {CASE_NAME_PROBLEM}"
        exact[name] = folded[name.lower()] = position
    return None


def unused_name(base: str, taken: Iterable[str]) -> str:
    """`base`, lengthened with underscores until it is none of `taken` (a helper column's name).

    >>> unused_name("__group", ["id", "__group", "__group_"])
    '__group__'
    """
    names = set(taken)
    while base in names:
        base += "_"
    return base


def reads_as_pattern(name: str) -> bool:
    """Whether polars reads a column name as a pattern: `*` matches every column, `^…$` a regex.

    >>> [reads_as_pattern(n) for n in ("*", "^id$", "a*", "^id", "id$")]
    [True, True, False, False, False]
    """
    return name == "*" or (len(name) > 1 and name.startswith("^") and name.endswith("$"))


class RestrictedOutputs(_Model):
    """The data owners' age public keys: restricted outputs are encrypted to them."""

    recipients: list[str] = Field(default_factory=list)

    @field_validator("recipients")
    @classmethod
    def _age_public_keys(cls, value: list[str]) -> list[str]:
        from pyrage import RecipientError, x25519

        for position, key in enumerate(value, 1):
            try:
                x25519.Recipient.from_str(key.strip())
            except RecipientError:
                raise ValueError(
                    f"entry {position} is not an age public key (age1..., as printed by "
                    "`age-keygen -y`); fix or remove it"
                ) from None
        return [key.strip() for key in value]


class Catalog(_Model):
    """The whole catalog file."""

    version: Literal[1] = 1
    as_of: date | None = None
    data_root: str = "."
    limits: Limits = Field(default_factory=Limits)
    gate: Gate = Field(default_factory=Gate)
    restricted: RestrictedOutputs | None = None
    datasets: dict[str, Dataset]

    @field_validator("datasets", mode="before")
    @classmethod
    def _identifier_names(cls, value: Any) -> Any:
        """Dataset names become file names: only identifiers, so none leaves its folder."""
        if isinstance(value, dict):
            bad = [
                str(position)
                for position, name in enumerate(value, 1)
                if not (isinstance(name, str) and IDENTIFIER.fullmatch(name))
            ]
            if bad:
                raise ValueError(
                    f"the dataset name at position {', '.join(bad)} is not an identifier; "
                    "use a letter or underscore, then letters, digits or underscores only"
                )
        return value

    _path: Path = PrivateAttr(default=Path(DEFAULT_CATALOG))

    @property
    def path(self) -> Path:
        """The file the catalog was loaded from."""
        return self._path

    @property
    def root(self) -> Path:
        """The folder that holds the catalog file; relative paths start here."""
        return self._path.resolve().parent

    @property
    def data_dir(self) -> Path:
        """The data root: no source may be read from outside it."""
        return (self.root / self.data_root).resolve()

    @property
    def expectations_dir(self) -> Path:
        """The folder of Great Expectations suites (`expectations/` beside the catalog)."""
        return self.root / "expectations"

    def names(self) -> list[str]:
        """Dataset names in declaration order."""
        return list(self.datasets)

    def incomplete(self) -> list[tuple[str, str]]:
        """(dataset, key) pairs still set to `TODO` (as `catalog draft` writes them).

        They load, so a drafted catalog can be explored; `govlib catalog` warns about each.
        """
        return [
            (name, key)
            for name, ds in self.datasets.items()
            for key in INCOMPLETE_KEYS
            if str(getattr(ds, key)).strip() == TODO
        ]

    def dataset(self, name: str) -> Dataset:
        """The dataset called `name`, or a clear error listing the known ones."""
        try:
            return self.datasets[name]
        except KeyError:
            raise UnknownDatasetError(name, self.names(), self.path) from None

    def gate_for(self, name: str) -> Gate:
        """The dataset's gate, falling back to the catalog-wide one per dimension.

        With no gate declared anywhere, `Gate.default()`: every dimension at least 99.
        """
        own = self.dataset(name).gate
        if own is None:
            return self.gate if self.gate.declared() else Gate.default()
        merged = self.gate.model_dump() | {
            k: v for k, v in own.model_dump().items() if v is not None
        }
        return Gate(**merged)


def load(path: str | Path = DEFAULT_CATALOG) -> Catalog:
    """Load and validate a catalog file, reporting every problem at once."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(
            path, ["file not found. Pass --catalog PATH or create catalog.yaml (see README)"]
        )
    try:
        raw = read_yaml(path)
    except ValueError as exc:
        raise CatalogError(path, [str(exc)]) from None
    if not isinstance(raw, dict):
        raise CatalogError(path, ["expected a mapping with a 'datasets' key at the top"])
    try:
        catalog = Catalog.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(path, [_describe(dict(err)) for err in exc.errors()]) from None
    catalog._path = path
    for name, ds in catalog.datasets.items():
        ds._name = name
        ds._catalog = catalog
    problems = _cross_check(catalog)
    if problems:
        raise CatalogError(path, problems)
    return catalog


class StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys, anchors and aliases, and bad dates.

    A duplicate key would silently win (dropping, say, a column's PII declaration), and nested
    aliases expand exponentially (a "billion laughs"), so both are errors naming the line.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:  # noqa: D102
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # unhashable: the base class reports it
            if first is not key_node.start_mark:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key (first given at line {first.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: Any) -> Any:  # noqa: D102
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, "not a valid date (YYYY-MM-DD)", node.start_mark
            ) from None


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)


def read_yaml(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse a small YAML file strictly; a problem is one `ValueError` line naming the line.

    The size is checked before anything is parsed.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ValueError(
                f"the file is {size:,} bytes, more than the {max_bytes:,}-byte limit. "
                "Split it or remove what is not needed"
            )
        text = path.read_bytes().decode("utf-8")
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ValueError(f"{where}{problem}. Fix the YAML") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text at byte {exc.start}. Save it as UTF-8") from None
    except OSError as exc:
        raise ValueError(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None


_FIXES = {
    "missing": "Add it",
    "extra_forbidden": "Remove it or check its spelling",
    "literal_error": "Use one of the listed values",
    "enum": "Use one of the listed values",
}


def _where(loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "datasets":
        key = _dotted(loc[2:]) or "(the dataset itself)"
        return f"dataset {loc[1]!r}, key {key!r}"
    return f"key {_dotted(loc)!r}"


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).startswith(("function-", "constrained-")):
            text += ("." if text else "") + str(part)
    return text


def _describe(err: dict[str, Any]) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        message = "required key is missing"
    elif err["type"] == "extra_forbidden":
        message = "unknown key"
    elif (
        "input" in err
        and err["type"] not in ("value_error",)
        and not isinstance(err["input"], dict)
    ):
        message += f", got {err['input']!r}"
    fix = _FIXES.get(err["type"], "")
    return f"{_where(tuple(err['loc']))}: {message}" + (f". {fix}" if fix else "")


def _cross_check(catalog: Catalog) -> list[str]:
    """Checks that span keys: declared columns, datasets that relationships point at."""
    problems: list[str] = []

    def need_column(ds: Dataset, key: str, column: str | None, types: tuple[str, ...] = ()) -> None:
        if column is None:
            return
        spec = ds.columns.get(column)
        if spec is None:
            problems.append(
                f"dataset {ds.name!r}, key {key!r}: column {column!r} is not declared in "
                "'columns'. Declare it or fix the name"
            )
        elif types and spec.type not in types:
            problems.append(
                f"dataset {ds.name!r}, key {key!r}: column {column!r} has type {spec.type!r}, "
                f"expected one of {', '.join(types)}. Point it at a date column"
            )

    for ds in catalog.datasets.values():
        for i, col in enumerate(ds.primary_key):
            need_column(ds, f"primary_key[{i}]", col)
        need_column(ds, "subject_key", ds.subject_key)
        for i, rel in enumerate(ds.relationships):
            need_column(ds, f"relationships[{i}].column", rel.column)
            target, column = rel.target
            if target not in catalog.datasets:
                problems.append(
                    f"dataset {ds.name!r}, key 'relationships[{i}].references': dataset "
                    f"{target!r} is not in the catalog. Add it or fix the name"
                )
            else:
                need_column(catalog.datasets[target], f"(referenced by {ds.name})", column)
        for i, rule in enumerate(ds.retention):
            need_column(ds, f"retention[{i}].anchor", rule.anchor, ("date", "datetime"))
            if rule.where:
                need_column(ds, f"retention[{i}].where.column", rule.where.column)
        names = [rule.name for rule in ds.retention]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(
                f"dataset {ds.name!r}, key 'retention': rule name {name!r} is used twice. "
                "Give each rule its own name"
            )
        for i, consent in enumerate(ds.consent):
            need_column(ds, f"consent[{i}].flag", consent.flag, ("bool",))
            need_column(ds, f"consent[{i}].timestamp", consent.timestamp, ("date", "datetime"))
            if consent.events is None:
                continue
            events = catalog.datasets.get(consent.events.dataset)
            if events is None:
                problems.append(
                    f"dataset {ds.name!r}, key 'consent[{i}].events.dataset': dataset "
                    f"{consent.events.dataset!r} is not in the catalog. Add it or fix the name"
                )
                continue
            ev = consent.events
            for key in ("subject", "purpose_column", "status_column", "time_column"):
                need_column(events, f"(consent events of {ds.name}).{key}", getattr(ev, key))
    return problems
