"""The whole Decision 766/QĐ-TTg index per unit: six groups, 100 points, as the national portal's board computes it.

The national public-service portal ranks a province, its departments and its communes every month on six
groups — transparency 18, timeliness 20, online services 12, digitisation 22, satisfaction 18, online payment
10 — with rules that differ from our own one-door statistics (calendar periods, its own empty-unit rules, its
own on-time test). What is known of its method, with evidence labels (V-data, V-text, Inferred), is in
``../shared/spec/766-INDEX.md``; every formula here cites its label, and the output flags each indicator whose
method is inferred.

Pure modules (no database, no bus):

``periods``
    the board's periods: calendar month, quarter and year (1st to last day), and the as-of instant.
``forms``
    ratios, the linear and threshold scoring forms, the empty-unit rules, half-up rounding to 2 decimals.
``facts``
    a dossier's and a petition's facts folded from their events, in any order.
``timeliness``
    the board's on-time test of one dossier (supplement wait subtracted, a pending supplement judged at its
    request, more than one request late) — whatever supplement policy the province uses for its own figures.
``petitions``
    deadlines and verdicts of petitions (phản ánh, kiến nghị).
``views``
    what the formulas read: a dossier, a petition, a procedure as the board sees them at the as-of instant.
``indicators``
    every indicator: one function each, its maximum, scoring form, empty rule and evidence.
``groups``
    the six groups, their totals and the unit's total from per-indicator ratios.
``counting``
    per-unit ratios (and the dossiers, petitions and procedures behind every lost point) from the views.
``losses``
    where the points go: points lost per indicator and what is behind them; the province view.
``procedure_facts``
    the import of procedure-level facts (publication, public content, online service level, fees, e-certified
    copies) from the national procedure database's export or a file the province keeps.
``workbook``
    the XLSX people send to units (Vietnamese headers).

Adapters: ``tables`` (migration 0005_index766_facts), ``store`` (the ingest hook and the views of a period),
``reads`` (what the RPCs call) and ``cli`` (``cchc index766``).
"""
