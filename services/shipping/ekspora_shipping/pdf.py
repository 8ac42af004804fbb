"""Export papers as PDF (fpdf2): the commercial invoice with its origin statement, and the packing list."""

from datetime import date

from fpdf import FPDF
from fpdf.fonts import FontFace

from ekspora_shipping.papers import Papers, Party

# The PDF core fonts cover Latin-1; a few typographic characters names may carry are spelled plainly.
PLAIN = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "·": "-"})
HEADINGS = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))


def _plain(text: str) -> str:
    return text.translate(PLAIN).encode("latin-1", "replace").decode("latin-1")


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def money(minor: int, currency: str) -> str:
    return f"{currency} {minor / 100:,.2f}"


class _Sheet(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.set_title(title)
        self.set_author("Ekspora")
        self.set_auto_page_break(auto=True, margin=15)
        self.add_page()
        self.set_font("Helvetica", size=9)

    def text_line(self, text: str, *, bold: bool = False, size: int = 9) -> None:
        self.set_font("Helvetica", "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, _plain(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=9)

    def gap(self, height: float = 3) -> None:
        self.ln(height)

    def party(self, heading: str, party: Party) -> None:
        self.text_line(heading, bold=True)
        self.text_line(party.name)
        self.text_line(party.address)
        if party.nib:
            self.text_line(f"NIB {party.nib}")

    def grid(self, rows: list[list[str]], widths: tuple[int, ...], align_right: set[int]) -> None:
        with self.table(
            col_widths=widths, headings_style=HEADINGS, line_height=4.5, text_align="LEFT", padding=1
        ) as table:
            for index, values in enumerate(rows):
                row = table.row()
                for column, value in enumerate(values):
                    right = index > 0 and column in align_right
                    row.cell(_plain(value), align="RIGHT" if right else "LEFT")


def _header(sheet: _Sheet, papers: Papers, title: str) -> None:
    sheet.text_line(title, bold=True, size=14)
    number = papers.number or "none yet: pro forma until the shipment is booked"
    issued = _day(papers.issued_on) if papers.issued_on else "-"
    sheet.text_line(f"Invoice no. {number}    Date {issued}    Shipment {papers.shipment_id}")
    sheet.gap()
    role = {
        "buyer": "Seller and exporter of record",
        "agent": "Exporter of record, for the producers named below",
        "producer": "Seller and exporter (producer)",
    }[papers.exporter_role]
    sheet.party(role, papers.exporter)
    sheet.gap(2)
    sheet.party("Buyer and consignee", papers.consignee)
    sheet.gap(2)
    sheet.text_line(
        f"Transport: {papers.mode}, from {papers.loading} to {papers.discharge}, departing {_day(papers.departure_on)}"
    )
    sheet.text_line(f"Terms of delivery: {papers.terms_of_delivery}")
    sheet.text_line("Country of origin of the goods: Indonesia")
    sheet.gap()


def commercial_invoice(papers: Papers) -> bytes:
    title = "PRO FORMA INVOICE" if papers.pro_forma else "COMMERCIAL INVOICE"
    sheet = _Sheet(f"{title} {papers.number or papers.key}")
    _header(sheet, papers, title)
    sheet.text_line(f"Payment terms: {papers.payment_terms}. Currency: {papers.currency}")
    sheet.gap(2)
    rows = [["#", "Description", "HS code", "Producer (NIB)", "Quantity", "Unit price", "Amount"]]
    for number, line in enumerate(papers.lines, start=1):
        producer = f"{line.supplier} ({line.supplier_nib})" if line.supplier_nib else line.supplier
        rows.append(
            [
                str(number),
                f"{line.description}, {line.unit} ({line.incoterm}; order {line.order_id})",
                line.hs_code,
                producer,
                f"{line.quantity:,}",
                money(line.unit_price, papers.currency),
                money(line.amount, papers.currency),
            ]
        )
    rows.append(
        ["", "Total", "", "", f"{sum(li.quantity for li in papers.lines):,}", "", money(papers.total, papers.currency)]
    )
    sheet.grid(rows, (6, 52, 18, 40, 17, 25, 28), align_right={0, 4, 5, 6})
    sheet.gap()
    sheet.text_line(papers.origin_title, bold=True)
    sheet.text_line(papers.origin_statement)
    if papers.origin_note:
        sheet.text_line(papers.origin_note, bold=True)
    sheet.text_line(f"{papers.place_of_issue}, {_day(papers.issued_on) if papers.issued_on else '(date of issue)'}")
    sheet.gap(8)
    sheet.text_line(f"{papers.exporter.name} (signature and stamp)")
    _producers(sheet, papers)
    return bytes(sheet.output())


def _producers(sheet: _Sheet, papers: Papers) -> None:
    sheet.gap()
    sheet.text_line("Producers", bold=True)
    for supplier in papers.suppliers:
        sheet.text_line(f"{supplier.name}, {supplier.address}" + (f", NIB {supplier.nib}" if supplier.nib else ""))


def packing_list(papers: Papers) -> bytes:
    sheet = _Sheet(f"PACKING LIST {papers.number or papers.key}")
    _header(sheet, papers, "PACKING LIST")
    rows = [
        ["Order", "Description", "HS code", "Quantity", "Cartons", "Carton (L x W x H)", "Net kg", "Gross kg", "CBM"]
    ]
    for line in papers.packing:
        rows.append(
            [
                line.order_id,
                line.description,
                line.hs_code,
                f"{line.quantity:,}",
                str(line.cartons),
                line.carton,
                f"{line.net_kg:,.2f}",
                f"{line.gross_kg:,.2f}",
                f"{line.cbm:.3f}",
            ]
        )
    packed = papers.packing
    rows.append(
        [
            "Total",
            "",
            "",
            f"{sum(p.quantity for p in packed):,}",
            str(sum(p.cartons for p in packed)),
            "",
            f"{sum(p.net_kg for p in packed):,.2f}",
            f"{sum(p.gross_kg for p in packed):,.2f}",
            f"{sum(p.cbm for p in packed):.3f}",
        ]
    )
    sheet.grid(rows, (24, 40, 17, 17, 14, 26, 17, 18, 13), align_right={3, 4, 6, 7, 8})
    _producers(sheet, papers)
    return bytes(sheet.output())
