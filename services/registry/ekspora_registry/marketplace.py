"""Go to marketplace: an UMKM's products as a seller centre's mass-upload sheet, and the seller
centre's order export read back as sales, all or nothing, each bad line named.

The layouts are data (data/marketplaces.yaml); this module reads and writes the bytes."""

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any, Literal

import yaml
from openpyxl import Workbook, load_workbook
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ekspora_kit.files import XLSX
from ekspora_kit.http import ApiError
from ekspora_registry.domain.model import Product

MARKETPLACES_PATH = Path(__file__).parent / "data" / "marketplaces.yaml"
SaleField = Literal["order_id", "status", "ordered_at", "sku", "quantity", "unit_price_idr", "buyer_city"]
REQUIRED: tuple[SaleField, ...] = ("order_id", "status", "ordered_at", "sku", "quantity", "unit_price_idr")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y")
MAX_REPORTED = 50  # a file that is wrong throughout names its first lines, not thousands


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Column(Strict):
    source: str | None = Field(default=None, alias="from")
    fixed: str | int | None = None

    @model_validator(mode="after")
    def one_of(self) -> "Column":
        if (self.source is None) == (self.fixed is None):
            raise ValueError("a column is either `from` a product field or `fixed`")
        if self.source is not None and self.source not in CATALOGUE_FIELDS:
            raise ValueError(f"no product field {self.source}; known: {sorted(CATALOGUE_FIELDS)}")
        return self


class Catalogue(Strict):
    template: str
    sheet: str
    header_rows: list[list[str]] = Field(min_length=1)
    columns: list[Column]
    category_codes: dict[str, str]

    @model_validator(mode="after")
    def headed(self) -> "Catalogue":
        if any(len(row) != len(self.columns) for row in self.header_rows):
            raise ValueError(f"{self.template}: every header row needs one cell per column")
        return self


class SalesFormat(Strict):
    export: str
    header_within_rows: int = Field(ge=1, le=20)
    columns: dict[SaleField, str]
    counted: list[str] = Field(min_length=1)
    skipped: list[str] = []

    @model_validator(mode="after")
    def complete(self) -> "SalesFormat":
        if missing := set(REQUIRED) - self.columns.keys():
            raise ValueError(f"{self.export}: no header named for {sorted(missing)}")
        return self


class Platform(Strict):
    label: str
    catalogue: Catalogue
    sales: SalesFormat


class Marketplaces(Strict):
    version: int
    packed_weight_factor: float = Field(ge=1)
    platforms: dict[str, Platform]
    generic_sales: SalesFormat

    def sales_format(self, platform: str) -> SalesFormat:
        return self.platforms[platform].sales if platform in self.platforms else self.generic_sales

    def catalogue(self, platform: str) -> Catalogue | None:
        return self.platforms[platform].catalogue if platform in self.platforms else None


def load_marketplaces(path: Path = MARKETPLACES_PATH) -> Marketplaces:
    return Marketplaces.model_validate(yaml.safe_load(path.read_text()))


# catalogue ---------------------------------------------------------------------------------------


def packed_weight_grams(product: Product, factor: float) -> int:
    return math.ceil(product.net_weight_grams * factor / 10) * 10


def description(product: Product) -> str:
    lines = [product.description_id, f"Isi: {product.unit}."]
    if product.shelf_life_days:
        lines.append(f"Tahan {product.shelf_life_days} hari.")
    held = sorted({c.kind.upper().replace("_", " ") for c in product.certificates if c.counts})
    if held:
        lines.append("Bersertifikat: " + ", ".join(held) + ".")
    return " ".join(lines)


CatalogueField = Callable[[Product, Catalogue, float], str | int]
CATALOGUE_FIELDS: dict[str, CatalogueField] = {
    "sku": lambda product, _, __: product.product_id,
    "name": lambda product, _, __: product.name,
    "description": lambda product, _, __: description(product),
    "category_code": lambda product, catalogue, __: catalogue.category_codes.get(product.category, ""),
    "price_idr": lambda product, _, __: product.unit_price_idr,
    "stock": lambda product, _, __: product.monthly_capacity,
    "packed_weight_grams": lambda product, _, factor: packed_weight_grams(product, factor),
}


def catalogue_rows(products: Iterable[Product], catalogue: Catalogue, factor: float) -> list[list[str | int]]:
    """The sheet's rows: the template's header rows, then one row per product."""
    rows: list[list[str | int]] = [list(row) for row in catalogue.header_rows]
    for product in products:
        rows.append(
            [
                CATALOGUE_FIELDS[column.source](product, catalogue, factor) if column.source else column.fixed or ""
                for column in catalogue.columns
            ]
        )
    return rows


def catalogue_xlsx(products: Iterable[Product], catalogue: Catalogue, factor: float) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has its first sheet
    sheet.title = catalogue.sheet
    for row in catalogue_rows(products, catalogue, factor):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# sales -------------------------------------------------------------------------------------------


class SaleLine(BaseModel):
    """One product of one marketplace order, as the seller centre exported it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    product_id: str
    quantity: int
    unit_price_idr: int
    ordered_on: date
    buyer_city: str | None
    line: int

    def key(self, msme_id: str, platform: str) -> str:
        return f"{msme_id}:{platform}:{self.order_id}:{self.product_id}"


class SalesFile(BaseModel):
    counted: list[SaleLine]
    skipped: dict[str, int]  # status: lines not counted


class LinesRefused(ApiError):
    """The file has bad lines: nothing of it is imported, each line's fault is named."""

    status_code = 422


def rows_of(
    content: bytes, content_type: str, form: SalesFormat
) -> tuple[Iterator[Sequence[Any]], int, dict[SaleField, int]]:
    """The file's rows after its header, read as they are needed (a workbook's first sheet, or a CSV
    split by the separator its header is found with: commas, semicolons or tabs), the header's row
    and each field's column."""
    if content_type == XLSX:
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a damaged workbook
            raise LinesRefused(f"the workbook could not be read: {error}", field="file") from None
        if not workbook.worksheets:
            raise LinesRefused("the workbook has no sheet", field="file")
        return after_header(workbook.worksheets[0].iter_rows(values_only=True), form)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LinesRefused("the CSV file is not UTF-8 text", field="file") from None
    head = "\n".join(text.splitlines()[: form.header_within_rows])
    for separator in ",;":
        with suppress(LinesRefused):
            header_row(list(csv.reader(io.StringIO(head), delimiter=separator)), form)
            break
    else:
        separator = "\t"
    return after_header(csv.reader(io.StringIO(text), delimiter=separator), form)


def after_header(
    rows: Iterable[Sequence[Any]], form: SalesFormat
) -> tuple[Iterator[Sequence[Any]], int, dict[SaleField, int]]:
    reading = iter(rows)
    head = list(islice(reading, form.header_within_rows))
    start, columns = header_row(head, form)
    return chain(head[start + 1 :], reading), start, columns


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def header_row(rows: Sequence[Sequence[Any]], form: SalesFormat) -> tuple[int, dict[SaleField, int]]:
    wanted = {field: header for field, header in form.columns.items()}
    for index, row in enumerate(rows[: form.header_within_rows]):
        cells = [cell_text(cell) for cell in row]
        positions = {field: cells.index(header) for field, header in wanted.items() if header in cells}
        if all(field in positions for field in REQUIRED):
            return index, positions
    expected = ", ".join(f'"{form.columns[field]}"' for field in REQUIRED)
    raise LinesRefused(
        f"no header row with {expected} in the first {form.header_within_rows} row(s): is this a {form.export}?",
        field="file",
    )


def whole_rupiah(value: Any) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != int(value):
            raise ValueError("rupiah are whole")
        return int(value)
    text = re.sub(r"^Rp\s*", "", cell_text(value), flags=re.IGNORECASE).replace(".", "").replace(" ", "")
    text = re.sub(r",0+$", "", text)
    if not text.isdigit():
        raise ValueError(f'"{cell_text(value)}" is not an amount in rupiah')
    return int(text)


def whole_number(value: Any) -> int:
    text = cell_text(value)
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f'"{text}" is not a whole number')
    return int(text)


def day_of(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise ValueError(f'"{text}" is not a date (2026-11-30 or 30-11-2026, with or without the time)')


class _Line:
    """One row of the export read into a SaleLine, collecting what is wrong with it."""

    def __init__(self, row: Sequence[Any], number: int, form: SalesFormat, columns: Mapping[SaleField, int]) -> None:
        self.row, self.number, self.form, self.columns = row, number, form, columns
        self.faults: list[tuple[str, str]] = []

    def raw(self, field: SaleField) -> Any:
        position = self.columns.get(field)
        return self.row[position] if position is not None and position < len(self.row) else None

    def fault(self, field: SaleField | None, message: str) -> None:
        self.faults.append(
            (f"line {self.number}: {self.form.columns[field]}" if field else f"line {self.number}", message)
        )

    def parsed(self, field: SaleField, parse: Callable[[Any], Any]) -> Any:
        try:
            return parse(self.raw(field))
        except ValueError as error:
            self.fault(field, str(error))
            return None

    def sale(self, product_ids: Mapping[str, str], today: date) -> SaleLine | None:
        order_id, sku = cell_text(self.raw("order_id")), cell_text(self.raw("sku"))
        if not order_id:
            self.fault("order_id", "no order number")
        if (product_id := product_ids.get(sku)) is None:
            self.fault("sku", f'"{sku}" is not the SKU of a product of this UMKM')
        quantity = self.parsed("quantity", whole_number)
        price = self.parsed("unit_price_idr", whole_rupiah)
        ordered_on = self.parsed("ordered_at", day_of)
        if quantity == 0:
            self.fault("quantity", "a sold quantity is at least 1")
        if ordered_on is not None and ordered_on > today:
            self.fault("ordered_at", f"{ordered_on} is in the future")
        if self.faults or product_id is None:
            return None
        city = cell_text(self.raw("buyer_city")) or None
        return SaleLine(
            order_id=order_id,
            product_id=product_id,
            quantity=quantity,
            unit_price_idr=price,
            ordered_on=ordered_on,
            buyer_city=city,
            line=self.number,
        )


def read_sales(
    content: bytes, content_type: str, form: SalesFormat, product_ids: Mapping[str, str], today: date
) -> SalesFile:
    """The file's completed lines, or LinesRefused naming every bad line (by its line in the file,
    as a spreadsheet numbers them). `product_ids`: SKU as written in the catalogue -> product."""
    rows, start, columns = rows_of(content, content_type, form)
    known = set(form.counted) | set(form.skipped)
    counted: list[SaleLine] = []
    skipped: dict[str, int] = {}
    faults: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows, start=start + 2):
        if not any(cell_text(cell) for cell in row):
            continue
        line = _Line(row, number, form, columns)
        status = cell_text(line.raw("status"))
        if status not in known:
            line.fault("status", f'unknown status "{status}"')
        elif status not in form.counted:
            skipped[status] = skipped.get(status, 0) + 1
        elif (sale := line.sale(product_ids, today)) is not None:
            if first := seen.get((sale.order_id, sale.product_id)):
                line.fault(None, f"order {sale.order_id} lists {sale.product_id} again (first on line {first})")
            else:
                seen[(sale.order_id, sale.product_id)] = number
                counted.append(sale)
        faults += line.faults
    if faults:
        more = f" (the first {MAX_REPORTED} of {len(faults)} shown)" if len(faults) > MAX_REPORTED else ""
        raise LinesRefused(f"{len(faults)} bad line(s), nothing imported{more}", errors=faults[:MAX_REPORTED])
    return SalesFile(counted=counted, skipped=skipped)
