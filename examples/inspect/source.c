/* source.c - part of safetensors-inspect, included by examples/inspect.c.

   What an argument opens as: a file, standard input ("-") through the
   streaming parser, or a sharded model (an index, or a folder). Its tensors,
   its metadata, and, when it is refused, the error with a hint when the
   bytes look like another format. */

/* How many of a refused file's first bytes are read to guess its format. */
#define SNIFF_BYTES 512u
/* Standard input is read in pieces of this size. */
#define STDIN_CHUNK 65536u

/* One tensor of an argument and where it lives. */
typedef struct entry {
    const safetensors_tensor *t;
    size_t shard; /* index into the model's shards; 0 for a file */
    size_t pos;   /* its place in the library's order */
} entry;

typedef struct tensor_list {
    entry *e;
    size_t n;
} tensor_list;

/* An opened argument: a file (f) or a model (m), the other NULL. */
typedef struct source {
    const char *path;
    safetensors_file *f;
    safetensors_model *m;
    tensor_list all;   /* every tensor, in the library's order */
    const char *hint;  /* when refused: what the bytes look like, or NULL */
} source;

static size_t meta_count(const source *s)
{
    return s->f ? safetensors_metadata_count(s->f) : safetensors_model_metadata_count(s->m);
}

static const char *meta_key(const source *s, size_t i, size_t *len)
{
    safetensors_metadata_entry e;
    if (s->f) safetensors_metadata_at(s->f, i, &e);
    else safetensors_model_metadata_at(s->m, i, &e);
    *len = e.key_len;
    return e.key;
}

/* A file's metadata value is a string; a model's is the index's raw JSON. */
static const char *meta_value(const source *s, size_t i, size_t *len)
{
    safetensors_metadata_entry e;
    if (s->m) return safetensors_model_metadata_json(s->m, i, len);
    safetensors_metadata_at(s->f, i, &e);
    *len = e.value_len;
    return e.value;
}

static const char *result_name(safetensors_result r)
{
    const char *s = safetensors_result_name(r);
    return s ? s : "SAFETENSORS_ERR_UNKNOWN";
}

static const char *dtype_name(safetensors_dtype d)
{
    const char *s = safetensors_dtype_name(d);
    return s ? s : "?";
}

/* The message's length, never reading past its array. */
static size_t message_length(const safetensors_error *err)
{
    const char *nul = (const char *)memchr(err->message, '\0', sizeof err->message);
    return nul ? (size_t)(nul - err->message) : sizeof err->message;
}

/* ---------------------------------------------------------------------
   What a refused file looks like
   --------------------------------------------------------------------- */

/* Text: no NUL and no control byte but white space, in the bytes read. */
static int looks_like_text(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7F) return 0;
    return n > 0;
}

/* The format the first bytes of a refused file suggest, or NULL. A file
   whose header starts like safetensors' (a JSON object at byte 8) gets no
   hint: it is a safetensors file with a fault, and its length bytes may by
   chance equal another format's magic. */
static const char *sniff_format(const unsigned char *p, size_t n)
{
    size_t i = 8;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
    if (i < n && p[i] == '{') return NULL;
    if (n >= 4 && memcmp(p, "GGUF", 4) == 0) return "a GGUF file (llama.cpp's format), not safetensors";
    if (n >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        return "a ZIP archive, such as a PyTorch checkpoint saved by torch.save (.bin, .pt), not safetensors";
    if (n >= 2 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5)
        return "a Python pickle, such as an old PyTorch checkpoint (.bin, .pt), not safetensors";
    if (n >= 8 && memcmp(p, "\x89HDF\r\n\x1a\n", 8) == 0) return "an HDF5 file (Keras .h5), not safetensors";
    if (n >= 6 && memcmp(p, "\x93NUMPY", 6) == 0) return "a NumPy array (.npy), not safetensors";
    if (!looks_like_text(p, n)) return NULL;
    for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'); i++) continue;
    if (i < n && (p[i] == '{' || p[i] == '['))
        return "JSON text, not safetensors (an index is read as a model when its name ends in .json)";
    return "text, not safetensors";
}

static const char *sniff_path(const char *path)
{
    unsigned char head[SNIFF_BYTES];
    size_t n;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    return sniff_format(head, n);
}

/* ---------------------------------------------------------------------
   Opening
   --------------------------------------------------------------------- */

static void list_alloc(tensor_list *l, size_t n)
{
    l->n = n;
    l->e = (entry *)xcalloc(n, sizeof *l->e);
}

/* Every tensor of s, in the library's order. A model is opened eagerly, so
   this cannot fail but for memory; a failure is reported like a refusal. */
static safetensors_result collect(source *s, safetensors_error *err)
{
    size_t i;
    list_alloc(&s->all, s->f ? safetensors_tensor_count(s->f) : safetensors_model_tensor_count(s->m));
    for (i = 0; i < s->all.n; i++) {
        entry *e = &s->all.e[i];
        e->pos = i;
        if (s->f) {
            e->t = safetensors_tensor_at(s->f, i);
        } else {
            safetensors_result r = safetensors_model_tensor_at(s->m, i, &e->t, &e->shard, err);
            if (r != SAFETENSORS_OK) return r;
        }
    }
    return SAFETENSORS_OK;
}

static void stdin_error(safetensors_error *err, uint64_t at)
{
    memset(err, 0, sizeof *err);
    err->code = SAFETENSORS_ERR_IO;
    err->offset = at;
    err->sys_errno = errno;
    snprintf(err->message, sizeof err->message, "reading standard input failed");
}

/* When standard input is a file (a redirection, not a pipe), tells the
   parser how many bytes are left in it: then a header that runs past the
   end is refused first, as an open by path does, not for what its cut JSON
   shows. Beyond what a long holds, the size stays unknown. */
static void stdin_expect_size(safetensors_parser *p)
{
    long at = ftell(stdin), end;
    if (at < 0 || fseek(stdin, 0, SEEK_END) != 0) return;
    end = ftell(stdin);
    if (fseek(stdin, at, SEEK_SET) != 0) return;
    if (end >= at) (void)safetensors_parser_expect_size(p, (uint64_t)(end - at));
}

/* Standard input through the streaming parser: the header is parsed as it
   arrives, and the data section is only counted, so that memory stays the
   table's whatever the input's size. The first bytes are kept for a hint. */
static safetensors_result stdin_open(source *s, safetensors_error *err)
{
    static unsigned char buf[STDIN_CHUNK];
    unsigned char head[SNIFF_BYTES];
    size_t nhead = 0, n, used;
    uint64_t total = 0, data = 0;
    int done = 0;
    safetensors_parser *p = NULL;
    safetensors_result r = safetensors_parser_create(NULL, &p, err);
    if (r != SAFETENSORS_OK) return r;
    stdin_expect_size(p);
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        if (nhead < sizeof head) {
            size_t k = n < sizeof head - nhead ? n : sizeof head - nhead;
            memcpy(head + nhead, buf, k);
            nhead += k;
        }
        total += n;
        used = 0;
        if (!done && (r = safetensors_parser_feed(p, buf, n, &used, &done, err)) != SAFETENSORS_OK) break;
        data += n - used;
    }
    if (r == SAFETENSORS_OK && ferror(stdin)) {
        stdin_error(err, total);
        r = SAFETENSORS_ERR_IO;
    }
    if (r == SAFETENSORS_OK) r = safetensors_parser_finish(p, done ? data : 0, &s->f, err);
    safetensors_parser_destroy(p);
    if (r != SAFETENSORS_OK) s->hint = sniff_format(head, nhead);
    return r;
}

/* An index (a name ending in .json) or a folder goes to the model view. */
static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

static int is_directory(const char *path)
{
#ifdef _WIN32
    struct _stat st;
    return _stat(path, &st) == 0 && (st.st_mode & _S_IFMT) == _S_IFDIR;
#else
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
#endif
}

static int is_stdin(const char *path) { return strcmp(path, "-") == 0; }

static void source_close(source *s)
{
    free(s->all.e);
    s->all.e = NULL;
    s->all.n = 0;
    safetensors_close(s->f);
    safetensors_model_close(s->m);
    s->f = NULL;
    s->m = NULL;
}

/* Opens `path` with `flags` (SAFETENSORS_HEADER_ONLY when no tensor data
   are read). On failure nothing is left open and s->hint may be set. */
static safetensors_result source_open(source *s, const char *path, unsigned flags, safetensors_error *err)
{
    safetensors_options opt;
    safetensors_result r;
    memset(s, 0, sizeof *s);
    memset(err, 0, sizeof *err);
    memset(&opt, 0, sizeof opt);
    opt.flags = flags;
    s->path = path;
    if (is_stdin(path)) {
        r = stdin_open(s, err);
    } else if (ends_with(path, ".json") || is_directory(path)) {
        r = safetensors_model_open(path, &opt, &s->m, err);
    } else {
        r = safetensors_open(path, &opt, &s->f, err);
        if (r != SAFETENSORS_OK) s->hint = sniff_path(path);
    }
    if (r == SAFETENSORS_OK) r = collect(s, err);
    if (r != SAFETENSORS_OK) source_close(s);
    return r;
}

/* ---------------------------------------------------------------------
   Refusals
   --------------------------------------------------------------------- */

/* "FILE: error CODE at byte OFFSET: message", and the hint after it: on
   its own line, or on the same line when every refusal must be one line. */
static void refusal_text(strbuf *b, const source *s, const safetensors_error *err, int one_line)
{
    text_cescaped(b, s->path);
    sb_puts(b, ": error ");
    sb_puts(b, result_name(err->code));
    sb_puts(b, " at byte ");
    sb_u64(b, err->offset);
    sb_puts(b, ": ");
    text_escaped(b, err->message, message_length(err));
    if (err->code == SAFETENSORS_ERR_IO && err->sys_errno != 0) {
        sb_puts(b, " (");
        text_cescaped(b, strerror(err->sys_errno));
        sb_putc(b, ')');
    }
    if (s->hint) {
        if (one_line) {
            sb_puts(b, "; it looks like ");
        } else {
            sb_putc(b, '\n');
            text_cescaped(b, s->path);
            sb_puts(b, ": hint: it looks like ");
        }
        sb_puts(b, s->hint);
    }
    sb_putc(b, '\n');
}

/* The members of an "error" object (without its braces). */
static void json_error_fields(strbuf *b, const source *s, const safetensors_error *err)
{
    sb_puts(b, "\"code\":");
    json_cstring(b, result_name(err->code));
    sb_puts(b, ",\"message\":");
    json_string(b, err->message, message_length(err));
    sb_puts(b, ",\"offset\":");
    sb_u64(b, err->offset);
    if (s->hint) {
        sb_puts(b, ",\"hint\":");
        json_cstring(b, s->hint);
    }
}

static void json_refused(strbuf *b, const source *s, const safetensors_error *err)
{
    sb_puts(b, "{\"file\":");
    json_cstring(b, s->path);
    sb_puts(b, ",\"ok\":false,\"error\":{");
    json_error_fields(b, s, err);
    sb_puts(b, "}}\n");
}

/* A refusal as JSON on stdout, or as text: on stderr, or on stdout for
   --check, whose output is the list of refusals. */
static void report_refused(strbuf *out, const source *s, const safetensors_error *err, int json, int check)
{
    strbuf b = {0, 0, 0};
    if (json) {
        json_refused(out, s, err);
        return;
    }
    if (check) {
        refusal_text(out, s, err, 1);
        return;
    }
    refusal_text(&b, s, err, 0);
    sb_flush(out, stdout); /* keep stdout and stderr in argument order on a terminal */
    fflush(stdout);
    sb_flush(&b, stderr);
    free(b.p);
}
