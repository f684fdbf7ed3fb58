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
    body = d.element.body
    links = []
    for h in body.iter(qn("w:hyperlink")):
        rid = h.get(qn("r:id"))
        text = "".join(t.text or "" for t in h.iter(qn("w:t")))
        url = d.part.rels[rid].target_ref if rid in d.part.rels else None
        links.append({"text": text, "url": url})
    tables_xml = []
    for t in body.iter(qn("w:tbl")):
        rows = t.findall(qn("w:tr"))
        def has(row, tag):
            trpr = row.find(qn("w:trPr"))
            return trpr is not None and trpr.find(qn(tag)) is not None
        tables_xml.append({
            "rows": len(rows),
            "cant_split": sum(1 for r in rows if has(r, "w:cantSplit")),
            "header_repeats": bool(rows) and has(rows[0], "w:tblHeader"),
            "widths": [int(g.get(qn("w:w"))) for g in t.find(qn("w:tblGrid")).findall(qn("w:gridCol"))],
        })

    def footer_info(f):
        if f is None or f.is_linked_to_previous:
            return None
        p = f.paragraphs[0]
        ind = p._element.pPr.find(qn("w:ind")) if p._element.pPr is not None else None
        return {
            "text": p.text,
            "align": str(p.alignment) if p.alignment is not None else None,
            "left": int(ind.get(qn("w:left"))) if ind is not None and ind.get(qn("w:left")) else 0,
            "right": int(ind.get(qn("w:right"))) if ind is not None and ind.get(qn("w:right")) else 0,
        }

    return {
        "links": links,
        "tables_xml": tables_xml,
        "even_and_odd": d.settings.odd_and_even_pages_header_footer,
        "footers": {"odd": footer_info(sec.footer), "even": footer_info(sec.even_page_footer)},
        "landscape": sec.page_width > sec.page_height,
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
                "keep_next": bool(p.paragraph_format.keep_with_next),
                "right_mm": mm(p.paragraph_format.right_indent),
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
    out = {"sheets": {}, "charts": {}, "a1": {}, "links": {}, "formats": {}, "print": {}}
    for ws in wb.worksheets:
        out["sheets"][ws.title] = [[c for c in row] for row in ws.iter_rows(values_only=True)]
        out["charts"][ws.title] = len(ws._charts)
        a1 = ws["A1"]
        out["a1"][ws.title] = {"bold": bool(a1.font.b), "font": a1.font.name}
        out["links"][ws.title] = [c.hyperlink.target for row in ws.iter_rows() for c in row if c.hyperlink is not None]
        # The number format of each cell that holds a number or a date, by its address.
        out["formats"][ws.title] = {
            c.coordinate: c.number_format
            for row in ws.iter_rows()
            for c in row
            if c.value is not None and not isinstance(c.value, str)
        }
        out["print"][ws.title] = {
            "area": ws.print_area,
            "fit_width": ws.page_setup.fitToWidth,
            "fit": bool(ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage),
            "paper": ws.page_setup.paperSize,
            "landscape": ws.page_setup.orientation == "landscape",
            "widths": {k: v.width for k, v in ws.column_dimensions.items() if v.width},
        }
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
