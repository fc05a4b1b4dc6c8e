"""`aims template`: the aims-workbook mapping written out as an empty XLSX workbook.

One sheet per register with its headers (required ones marked in the README), drop-down lists
of allowed values where a column takes an enumeration or yes/no, and a README sheet that
explains every column. The workbook is generated from the mapping, so it always matches what
ingest accepts.
"""

from __future__ import annotations

from pathlib import Path

from mapper.ingest.mapping import Mapping, Table, load_mapping


def _allowed(table: Table) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for node in table.nodes:
        for prop in [*node.props, *([node.class_from] if node.class_from else [])]:
            if prop.column is None:
                continue
            if prop.map is not None and prop.map.unknown == "error" and not prop.split:
                out[prop.column] = prop.map.choices
            elif prop.type == "boolean":
                out[prop.column] = ["yes", "no"]
    for column in table.columns.values():
        if column.allowed:
            out[column.name] = column.allowed
    return out


def write_template(out: Path, mapping: Mapping | None = None) -> Path:
    """Write the empty workbook for a mapping (aims-workbook by default); returns the path.

    >>> import tempfile, pathlib, openpyxl
    >>> path = write_template(pathlib.Path(tempfile.mkdtemp()) / "w.xlsx")
    >>> book = openpyxl.load_workbook(path)
    >>> book.sheetnames[0], "AI systems" in book.sheetnames
    ('README', True)
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    mapping = mapping or load_mapping("aims-workbook")
    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = "README"
    bold = Font(bold=True)
    readme.append([mapping.title])
    readme["A1"].font = Font(bold=True, size=14)
    for line in [
        "Fill one sheet per register; leave a sheet empty if you have nothing for it.",
        "IDs are your own keys (e.g. SYS-001); other sheets refer to rows by these IDs.",
        "Several values in one cell are separated by ';' (a ';' inside a value is written \\;). "
        "Dates: YYYY-MM-DD.",
        "Load it with: aims ingest this-file.xlsx   (mapping: " + mapping.name + ")",
        "",
    ]:
        readme.append([line])
    readme.append(["Sheet", "Column", "Required", "Allowed values", "Notes"])
    for cell in readme[readme.max_row]:
        cell.font = bold
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    lists = book.create_sheet("Lists")
    list_col = 0
    for table in mapping.tables:
        sheet = book.create_sheet(table.title[:31])
        allowed = _allowed(table)
        columns = list(table.columns.values())
        sheet.append([c.label for c in columns])
        for i, column in enumerate(columns, start=1):
            cell = sheet.cell(row=1, column=i)
            cell.font = bold
            cell.fill = header_fill
            sheet.column_dimensions[get_column_letter(i)].width = max(14, len(column.label) + 2)
            values = allowed.get(column.name, [])
            readme.append([table.title, column.label, "yes" if column.required else "",
                           ", ".join(values), column.note])
            if values:
                list_col += 1
                letter = get_column_letter(list_col)
                lists.cell(row=1, column=list_col, value=f"{table.title}: {column.label}")
                for r, value in enumerate(values, start=2):
                    lists.cell(row=r, column=list_col, value=value)
                rule = DataValidation(
                    type="list", formula1=f"=Lists!${letter}$2:${letter}${len(values) + 1}",
                    allow_blank=True, showErrorMessage=True,
                    errorTitle="Not an allowed value",
                    error=f"Choose one of: {', '.join(values)}",
                )
                sheet.add_data_validation(rule)
                col_letter = get_column_letter(i)
                rule.add(f"{col_letter}2:{col_letter}5000")
        sheet.freeze_panes = "A2"
    lists.sheet_state = "hidden"
    book.move_sheet("Lists", offset=len(book.sheetnames))
    readme.column_dimensions["A"].width = 24
    readme.column_dimensions["B"].width = 34
    readme.column_dimensions["D"].width = 50
    readme.column_dimensions["E"].width = 50
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out
