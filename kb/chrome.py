"""Site furniture and publishers' footers: the short lines a page holds that are not its text
(menus, share and login links, cookie notices, copyright lines, "views ... solely those of the
author", tax-exempt notices). The splitter drops them, from every format."""
from __future__ import annotations

import re

CHROME = re.compile(
    r"(?:user\s+)?(?:log\s*-?\s*in|log\s*-?\s*out|sign\s*-?\s*in|sign\s*-?\s*(?:up|out)|login|logout)"
    r"(?:\s+(?:now|here|to\s+.*))?"
    r"|register(?:\s+(?:an?\s+)?account)?|create\s+(?:an?\s+)?account|my\s+account|forgot\s+(?:your\s+)?password\??"
    r"|subscribe\b.*|unsubscribe|newsletter|sign\s+up\s+for\s+.*newsletter.*"
    r"|(?:we|this\s+(?:web)?site)\s+uses?\s+cookies\b.*|(?:accept|reject|allow)(?:\s+all)?\s+cookies"
    r"|(?:manage\s+)?cookies?(?:\s+(?:policy|settings|preferences|notice))?"
    r"|share(?:\s+(?:this|on|via)(?:\s+\w+)?)?|tweet(?:\s+this)?|email(?:\s+this(?:\s+\w+)?)?"
    r"|print(?:\s+(?:this\s+)?(?:article|page|story))?|(?:download\s+)?pdf"
    r"|skip\s+to\s+(?:main\s+)?(?:content|navigation)|skip\s+navigation|back\s+to\s+top|top\s+of\s+page"
    r"|home(?:\s*page)?|menu|main\s+menu|navigation|search|next|previous|prev|close|more"
    r"|read\s+more|continue\s+reading|related(?:\s+(?:articles|stories|posts|content))?|recommended(?:\s+for\s+you)?"
    r"|advertisement|sponsored(?:\s+content)?|ad|ads"
    r"|privacy(?:\s+policy)?|terms(?:\s+(?:of\s+(?:use|service)|and\s+conditions))?|cookie\s+policy|sitemap"
    r"|contact(?:\s+us)?|about(?:\s+us)?|follow\s+us\b.*|like\s+us\s+on\s+.*"
    r"|facebook|twitter|linkedin|whatsapp|reddit|pinterest|instagram|youtube|rss(?:\s+feed)?"
    # a copyright line has "©", "copyright" or "all rights reserved": "(C) making ..." is a list item
    r"|.*\ball\s+rights\s+reserved\b.*|(?:copyright\s*)?©.*|copyright\s*\(c\).*|\(c\)\s*(?:copyright|\d{4})\b.*"
    r"|copyright\s+\d{4}\b.*"
    # publishers' footers: disclaimers and donation lines
    r"|.*\bviews?\b.*\b(?:are|is)\s+(?:solely\s+)?(?:those|that)\s+of\s+the\s+authors?\b.*"
    r"|.*\b(?:is\s+an?\s+.*tax[-\s]exempt|tax[-\s]deductible)\b.*|.*\b501\s*\(c\)\s*\(3\).*"
    r"|share\s+(?:this|on)\b.*",
    re.IGNORECASE,
)


def is_chrome(line: str) -> bool:
    """Whole short lines of site furniture ("Home | About" too), case-insensitively; long prose never is."""
    cells = re.split(r"\s+[|·•/]\s+|\s{3,}", line.strip(" \t.:!|>»·•-–—"))
    return len(line.split()) <= 25 and all(CHROME.fullmatch(cell.strip(" \t.:!|>»·•-–—")) for cell in cells)
