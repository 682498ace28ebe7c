"""Message search: the text a message is indexed as, queries, highlights.

One tokenisation on both engines (docs/architecture.md, "Search"): runs of
Chinese, Japanese and Korean characters become overlapping pairs (上海东 is
indexed as 上海 海东 东), so that any substring of two or more characters is a
phrase of pairs; other text is words. PostgreSQL indexes the result with its
'simple' text search (an expression index, chat_search_document(body)) and
SQLite with FTS5 (triggers keep a contentless table in step).
"""
