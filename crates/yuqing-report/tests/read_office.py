#!/usr/bin/env python3
"""Reads a .docx with python-docx or a .xlsx with openpyxl (independent readers, not ours) and
prints what they see as one JSON document, for the Rust tests to assert on.

usage: read_office.py FILE.docx|FILE.xlsx
"""
import json
import sys

from docx.oxml.ns import qn

EMU_PER_MM = 36000


def mm(v):
    return None if v is None else round(v / EMU_PER_MM, 2)


def run_info(r):
    rpr = r._element.rPr
    fonts = rpr.rFonts if rpr is not None else None
    return {
        "text": r.text,
        "ascii": r.font.name,
        "east_asia": fonts.get(qn("w:eastAsia")) if fonts is not None else None,
        "size_pt": r.font.size.pt if r.font.size is not None else None,
        "bold": r.font.bold,
    }


def style_info(s):
    rpr = s.element.rPr
    fonts = rpr.rFonts if rpr is not None else None
    return {
        "name": s.name,
        "east_asia": fonts.get(qn("w:eastAsia")) if fonts is not None else None,
        "ascii": s.font.name,
        "size_pt": s.font.size.pt if s.font.size is not None else None,
    }


def read_docx(path):
    import docx

    d = docx.Document(path)
    sec = d.sections[0]
    fonts = []
    for rel in d.part.rels.values():
        if rel.reltype.endswith("/fontTable"):
            from lxml import etree

            root = etree.fromstring(rel.target_part.blob)
            for f in root.findall(qn("w:font")):
                alt = f.find(qn("w:altName"))
                fonts.append({"name": f.get(qn("w:name")), "alt": alt.get(qn("w:val")) if alt is not None else None})
    return {
        "section": {
            "page_w_mm": mm(sec.page_width),
            "page_h_mm": mm(sec.page_height),
            "top_mm": mm(sec.top_margin),
            "bottom_mm": mm(sec.bottom_margin),
            "left_mm": mm(sec.left_margin),
            "right_mm": mm(sec.right_margin),
        },
        "paragraphs": [
            {
                "text": p.text,
                "style": p.style.name if p.style is not None else None,
                "align": str(p.alignment) if p.alignment is not None else None,
                "runs": [run_info(r) for r in p.runs],
            }
            for p in d.paragraphs
        ],
        "tables": [
            [[c.text for c in row.cells] for row in t.rows] for t in d.tables
        ],
        "table_runs": [
            run_info(r) for t in d.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs
        ],
        "styles": {s.style_id: style_info(s) for s in d.styles if s.type == 1},
        "images": len(d.inline_shapes),
        "fonts": fonts,
        "footer": [p.text for p in sec.footer.paragraphs],
    }


def read_xlsx(path):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    out = {"sheets": {}, "charts": {}, "a1": {}, "links": {}}
    for ws in wb.worksheets:
        out["sheets"][ws.title] = [[c for c in row] for row in ws.iter_rows(values_only=True)]
        out["charts"][ws.title] = len(ws._charts)
        a1 = ws["A1"]
        out["a1"][ws.title] = {"bold": bool(a1.font.b), "font": a1.font.name}
        out["links"][ws.title] = [c.hyperlink.target for row in ws.iter_rows() for c in row if c.hyperlink is not None]
    return out


def main():
    path = sys.argv[1]
    if path.endswith(".docx"):
        print(json.dumps(read_docx(path), ensure_ascii=False))
    elif path.endswith(".xlsx"):
        print(json.dumps(read_xlsx(path), ensure_ascii=False, default=str))
    else:
        sys.exit("unknown file type: " + path)


if __name__ == "__main__":
    main()
