# Runs the `>>>` sessions of a Markdown file with the standard doctest module (ELLIPSIS and
# NORMALIZE_WHITESPACE), printing per fenced block its opening line and its first failure:
# the cross-check of fixtures/sessions/. Usage: python3.X bench/doctest_check.py FILE.md
import doctest, re, sys
text = open(sys.argv[1]).read().split("\n")
blocks = []
i = 0
while i < len(text):
    m = re.match(r"^```(\S*)", text[i])
    if m:
        start = i + 1
        j = i + 1
        while not text[j].startswith("```"):
            j += 1
        body = [l for l in text[i+1:j] if not l.startswith(":options:")]
        blocks.append((start, m.group(1), "\n".join(body) + "\n"))
        i = j
    i += 1
for start, lang, body in blocks:
    if ">>>" not in body:
        continue
    test = doctest.DocTestParser().get_doctest(body, {}, "b", "b", 0)
    fails = []
    class R(doctest.DocTestRunner):
        def report_failure(self, out, t, ex, got): fails.append(("differs", start + ex.lineno + 1))
        def report_unexpected_exception(self, out, t, ex, exc): fails.append((exc[0].__name__, start + ex.lineno + 1))
    R(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).run(test, out=lambda s: None)
    print(start, fails[:1] if fails else "pass")
