/*
** store.c: blobs on disk and metadata in SQLite (store.h).
*/
#include "store.h"

#include "files.h"

#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BUSY_TIMEOUT_MS = 30000 };

struct Store {
    sqlite3 *db;
    char dir[PATH_MAX - 128];
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS artifacts("
    "  name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,"
    "  size INTEGER NOT NULL, description TEXT NOT NULL,"
    "  language TEXT NOT NULL, license TEXT NOT NULL, signer TEXT NOT NULL,"
    "  publisher TEXT NOT NULL, published_at TEXT NOT NULL,"
    "  yanked INTEGER NOT NULL DEFAULT 0, manifest TEXT NOT NULL,"
    "  UNIQUE(name, version));"
    "CREATE TABLE IF NOT EXISTS tokens("
    "  name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    "  created_at TEXT NOT NULL);";

static const char columns[] =
    "name, version, digest, size, description, language, license, signer, "
    "publisher, published_at, yanked, manifest";

/* Orders versions by semver precedence inside SQL (ORDER BY ... COLLATE
   semver); build metadata breaks ties so that distinct strings differ. */
static int semver_collate(void *user, int na, const void *a, int nb, const void *b)
{
    (void)user;
    char va[REGISTRY_VERSION_MAX + 1], vb[REGISTRY_VERSION_MAX + 1];
    snprintf(va, sizeof va, "%.*s", na, (const char *)a);
    snprintf(vb, sizeof vb, "%.*s", nb, (const char *)b);
    int c = registry_version_compare(va, vb);
    return c ? c : strcmp(va, vb);
}

static StoreStatus db_fail(Store *s, char *err, size_t errlen)
{
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
    return STORE_FAILED;
}

Store *store_open(const char *dir, char *err, size_t errlen)
{
    Store *s = calloc(1, sizeof *s);
    char path[PATH_MAX];
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(path, sizeof path, "%s/blobs/sha256", dir);
    bool ok = file_make_dirs(path, err, errlen);
    snprintf(path, sizeof path, "%s/tmp", dir);
    ok = ok && file_make_dirs(path, err, errlen);
    snprintf(path, sizeof path, "%s/registry.db", dir);
    if (ok && (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
               sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
               sqlite3_create_collation(s->db, "semver", SQLITE_UTF8, NULL,
                                        semver_collate) != SQLITE_OK ||
               sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)) {
        snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        ok = false;
    }
    if (!ok) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(Store *s)
{
    if (!s) return;
    sqlite3_close(s->db);
    free(s);
}

void store_clean_tmp(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tmp", dir);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || !strncmp(e->d_name, ".sluice-tmp-", 12)) {
            char file[PATH_MAX];
            if (snprintf(file, sizeof file, "%s/%s", path, e->d_name) < (int)sizeof file)
                unlink(file);
        }
    closedir(d);
}

void store_blob_path(const Store *s, const char *digest, char *path, size_t cap)
{
    snprintf(path, cap, "%s/blobs/sha256/%s", s->dir, digest + 7);
}

static void now_utc(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- Metadata as JSON -------------------------------------------------- */

static const char *text_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* One row of `columns` as the API's metadata object. */
static json_t *row_json(sqlite3_stmt *st)
{
    const char *name = text_col(st, 0), *version = text_col(st, 1);
    const char *signer = text_col(st, 7);
    char download[256];
    snprintf(download, sizeof download, "/api/v1/artifacts/%s/%s/download", name, version);
    json_t *manifest = json_loads(text_col(st, 11), 0, NULL);
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:o, s:s}",
                     "name", name, "version", version, "digest", text_col(st, 2),
                     "size", (json_int_t)sqlite3_column_int64(st, 3),
                     "description", text_col(st, 4), "language", text_col(st, 5),
                     "license", text_col(st, 6),
                     "signer", *signer ? json_string(signer) : json_null(),
                     "publisher", text_col(st, 8), "published_at", text_col(st, 9),
                     "yanked", sqlite3_column_int(st, 10),
                     "manifest", manifest ? manifest : json_object(),
                     "download", download);
}

static sqlite3_stmt *prepare(Store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    return st;
}

/* ---- Publishing -------------------------------------------------------- */

static bool blob_store(Store *s, const char *digest, const uint8_t *bytes,
                       size_t len, char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    store_blob_path(s, digest, path, sizeof path);
    if (access(path, F_OK) == 0) return true; /* same bytes, same name */
    snprintf(tmp, sizeof tmp, "%s/tmp", s->dir);
    return file_write_atomic(path, tmp, bytes, len, 0644, err, errlen);
}

static StoreStatus insert_row(Store *s, const Artifact *a, const char *digest,
                              size_t len, const char *publisher, char *err,
                              size_t errlen)
{
    char sql[512], when[32];
    snprintf(sql, sizeof sql, "INSERT INTO artifacts(%s) VALUES "
             "(?,?,?,?,?,?,?,?,?,?,0,?)", columns);
    sqlite3_stmt *st = prepare(s, sql);
    if (!st) return db_fail(s, err, errlen);
    char *manifest = json_dumps(a->manifest->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const Manifest *m = a->manifest;
    now_utc(when);
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->version, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)len);
    sqlite3_bind_text(st, 5, m->description, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->language, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, m->license, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, a->signer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, publisher, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, when, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, manifest ? manifest : "{}", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    StoreStatus status = STORE_OK;
    if (rc == SQLITE_CONSTRAINT) status = STORE_EXISTS;
    else if (rc != SQLITE_DONE) status = db_fail(s, err, errlen);
    sqlite3_finalize(st);
    free(manifest);
    return status;
}

/* After losing a race for name@version, removes the blob just stored
   unless it is the winner's. The manifest inside an archive names it, so
   no other version can share these bytes. */
static void drop_losing_blob(Store *s, const Artifact *a, const char *digest)
{
    json_t *winner = store_metadata(s, a->manifest->name, a->manifest->version);
    const char *kept = json_string_value(json_object_get(winner, "digest"));
    if (kept && strcmp(kept, digest)) {
        char path[PATH_MAX];
        store_blob_path(s, digest, path, sizeof path);
        unlink(path);
    }
    json_decref(winner);
}

StoreStatus store_publish(Store *s, const Artifact *a, const uint8_t *bytes,
                          size_t len, const char *publisher, json_t **meta,
                          char *err, size_t errlen)
{
    char digest[ARTIFACT_DIGEST_LEN];
    artifact_digest(bytes, len, digest);
    json_t *existing = store_metadata(s, a->manifest->name, a->manifest->version);
    json_decref(existing);
    if (existing) return STORE_EXISTS;
    if (!blob_store(s, digest, bytes, len, err, errlen)) return STORE_FAILED;
    StoreStatus status = insert_row(s, a, digest, len, publisher, err, errlen);
    if (status == STORE_OK)
        *meta = store_metadata(s, a->manifest->name, a->manifest->version);
    if (status == STORE_EXISTS) drop_losing_blob(s, a, digest);
    return status;
}

/* ---- Queries ----------------------------------------------------------- */

/* Rows of name, newest first; yanked ones only when with_yanked. */
static sqlite3_stmt *versions_query(Store *s, const char *name, bool with_yanked)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM artifacts WHERE name = ?%s "
             "ORDER BY version COLLATE semver DESC", columns,
             with_yanked ? "" : " AND yanked = 0");
    sqlite3_stmt *st = prepare(s, sql);
    if (st) sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    return st;
}

/* The newest release, or the newest pre-release when there is no release. */
static json_t *latest(Store *s, const char *name)
{
    sqlite3_stmt *st = versions_query(s, name, false);
    json_t *best = NULL;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        bool pre = registry_version_is_prerelease(text_col(st, 1));
        if (!best || !pre) {
            json_decref(best);
            best = row_json(st);
        }
        if (!pre) break;
    }
    sqlite3_finalize(st);
    return best;
}

json_t *store_metadata(Store *s, const char *name, const char *version)
{
    if (!strcmp(version, "latest")) return latest(s, name);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM artifacts WHERE name = ? AND version = ?",
             columns);
    sqlite3_stmt *st = prepare(s, sql);
    json_t *meta = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, version, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) meta = row_json(st);
    }
    sqlite3_finalize(st);
    return meta;
}

json_t *store_versions(Store *s, const char *name)
{
    sqlite3_stmt *st = versions_query(s, name, true);
    json_t *versions = json_array();
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(versions, row_json(st));
    sqlite3_finalize(st);
    if (json_array_size(versions) == 0) {
        json_decref(versions);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "name", name, "versions", versions);
}

json_t *store_search(Store *s, const char *query)
{
    sqlite3_stmt *st = prepare(s,
        "SELECT DISTINCT name FROM artifacts WHERE yanked = 0 AND "
        "(?1 = '' OR instr(lower(name), lower(?1)) > 0 OR "
        " instr(lower(description), lower(?1)) > 0) ORDER BY name");
    json_t *list = json_array();
    if (st) sqlite3_bind_text(st, 1, query ? query : "", -1, SQLITE_TRANSIENT);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        json_t *meta = latest(s, text_col(st, 0));
        if (!meta) continue;
        json_array_append_new(list, json_pack(
            "{s:O, s:O, s:O, s:O, s:O}", "name", json_object_get(meta, "name"),
            "latest", json_object_get(meta, "version"),
            "description", json_object_get(meta, "description"),
            "language", json_object_get(meta, "language"),
            "signer", json_object_get(meta, "signer")));
        json_decref(meta);
    }
    sqlite3_finalize(st);
    return json_pack("{s:o}", "artifacts", list);
}

StoreStatus store_yank(Store *s, const char *name, const char *version, bool yanked)
{
    sqlite3_stmt *st = prepare(s, "UPDATE artifacts SET yanked = ? WHERE name = ? AND version = ?");
    if (!st) return STORE_FAILED;
    sqlite3_bind_int(st, 1, yanked);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, version, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return STORE_FAILED;
    return sqlite3_changes(s->db) ? STORE_OK : STORE_NOT_FOUND;
}

/* ---- Tokens ------------------------------------------------------------ */

static void token_hash(const char *token, char hex[65])
{
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const uint8_t *)token, strlen(token));
    sodium_bin2hex(hex, 65, hash, sizeof hash);
}

StoreStatus store_token_add(Store *s, const char *name,
                            char token[STORE_TOKEN_LEN], char *err, size_t errlen)
{
    uint8_t secret[32];
    randombytes_buf(secret, sizeof secret);
    memcpy(token, "sluice_", 7);
    sodium_bin2hex(token + 7, STORE_TOKEN_LEN - 7, secret, sizeof secret);
    char hash[65], when[32];
    token_hash(token, hash);
    now_utc(when);
    sqlite3_stmt *st = prepare(s, "INSERT INTO tokens(name, hash, created_at) VALUES (?,?,?)");
    if (!st) return db_fail(s, err, errlen);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, when, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(err, errlen, "a token named '%s' exists already", name);
        return STORE_EXISTS;
    }
    return rc == SQLITE_DONE ? STORE_OK : db_fail(s, err, errlen);
}

StoreStatus store_token_check(Store *s, const char *token,
                              char name[STORE_TOKEN_NAME_MAX + 1])
{
    char hash[65];
    token_hash(token, hash);
    sqlite3_stmt *st = prepare(s, "SELECT name FROM tokens WHERE hash = ?");
    StoreStatus status = STORE_FAILED;
    if (st) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        status = STORE_NOT_FOUND;
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(name, STORE_TOKEN_NAME_MAX + 1, "%s", text_col(st, 0));
            status = STORE_OK;
        }
    }
    sqlite3_finalize(st);
    return status;
}
