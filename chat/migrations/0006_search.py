"""Message search: the index on each engine (chat/search, docs/architecture.md).

PostgreSQL: chat_search_text(body) splits a message into words and CJK
character pairs (as chat.search.text does), chat_search_document(body) makes it
a tsvector with the 'simple' configuration, and a GIN index on that expression
(not partial: ANALYZE keeps statistics of a whole index's expression only; a
deleted message's body is empty, so it has no entries). Inserts, edits and
deletions keep it in step by themselves: no trigger, no table, no Python per
message. COST 1000 tells the planner that computing the document is dear, so
that it never picks a plan that computes it for every row of the table (not
more: the JIT would start compiling the search's plan); PARALLEL UNSAFE keeps
the search in one process (starting workers cost more than a search's rows). The character classes
are code points, frozen here (chat.search.text holds the same ones; a test
compares the two on both engines).

SQLite: a contentless FTS5 table, filled by triggers that call the
chat_search_text function chat.search.sqlite registers on every connection.
"""

from django.db import migrations

CJK = (
    r"\u1100-\u11ff\u3005-\u3007\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
    r"\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
    r"\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
SEPARATORS = (
    r"\u0001-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u00bf\u2000-\u206f"
    r"\u3000-\u3004\u3008-\u303f\ufe10-\ufe1f\ufe30-\ufe4f\uff01-\uff0f"
    r"\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
)

POSTGRES_FUNCTIONS = """
CREATE OR REPLACE FUNCTION {schema}.chat_search_text(body text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE COST 1000 AS $$
DECLARE
    piece text;
    words text[] := '{{}}';
BEGIN
    IF body !~ '[{cjk}]' THEN
        RETURN regexp_replace(body, '[{separators}]+', ' ', 'g');
    END IF;
    FOR piece IN
        SELECT m[1] FROM regexp_matches(body, '([{cjk}]+|[^{cjk}{separators}]+)', 'g') AS m
    LOOP
        IF piece ~ '^[{cjk}]' THEN
            FOR i IN 1 .. length(piece) - 1 LOOP
                words := words || substr(piece, i, 2);
            END LOOP;
            words := words || right(piece, 1);
        ELSE
            words := words || piece;
        END IF;
    END LOOP;
    RETURN array_to_string(words, ' ');
END
$$;
CREATE OR REPLACE FUNCTION {schema}.chat_search_document(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL UNSAFE AS $$
    SELECT pg_catalog.to_tsvector('pg_catalog.simple'::regconfig,
                                  {schema}.chat_search_text(body))
$$;
CREATE INDEX message_search ON chat_message
    USING gin ({schema}.chat_search_document(body));
"""

POSTGRES_DROP = """
DROP INDEX IF EXISTS message_search;
DROP FUNCTION IF EXISTS {schema}.chat_search_document(text);
DROP FUNCTION IF EXISTS {schema}.chat_search_text(text);
"""

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE chat_message_search USING fts5(document, content='', "
    "tokenize=\"unicode61 remove_diacritics 0 categories 'L* N* Co M*'\")",
    "INSERT INTO chat_message_search (rowid, document) "
    "SELECT id, chat_search_text(body) FROM chat_message WHERE deleted_at IS NULL",
    """CREATE TRIGGER chat_message_search_insert AFTER INSERT ON chat_message
    WHEN new.deleted_at IS NULL BEGIN
        INSERT INTO chat_message_search (rowid, document)
        VALUES (new.id, chat_search_text(new.body));
    END""",
    """CREATE TRIGGER chat_message_search_update AFTER UPDATE OF body, deleted_at
    ON chat_message
    WHEN old.body IS NOT new.body OR old.deleted_at IS NOT new.deleted_at BEGIN
        INSERT INTO chat_message_search (chat_message_search, rowid, document)
        SELECT 'delete', old.id, chat_search_text(old.body)
        WHERE old.deleted_at IS NULL;
        INSERT INTO chat_message_search (rowid, document)
        SELECT new.id, chat_search_text(new.body) WHERE new.deleted_at IS NULL;
    END""",
    """CREATE TRIGGER chat_message_search_delete AFTER DELETE ON chat_message
    WHEN old.deleted_at IS NULL BEGIN
        INSERT INTO chat_message_search (chat_message_search, rowid, document)
        VALUES ('delete', old.id, chat_search_text(old.body));
    END""",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS chat_message_search_delete",
    "DROP TRIGGER IF EXISTS chat_message_search_update",
    "DROP TRIGGER IF EXISTS chat_message_search_insert",
    "DROP TABLE IF EXISTS chat_message_search",
]


def _schema(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return schema_editor.quote_name(cursor.fetchone()[0])


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            POSTGRES_FUNCTIONS.format(
                schema=_schema(schema_editor), cjk=CJK, separators=SEPARATORS
            )
        )
    elif vendor == "sqlite":
        for statement in SQLITE_INDEX:
            schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP.format(schema=_schema(schema_editor)))
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("chat", "0005_message_changes")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
