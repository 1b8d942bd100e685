/* A device-side program over libs3ec_c: encrypt a file into the layout S3
 * (and s3ec-fs, and `s3ec decrypt`) stores, or decrypt one, authenticated.
 *
 *   s3ec_file encrypt KEY IN OUT [--v2] [--instruction-file] [--matdesc JSON] [--rsa-der FILE]
 *       OUT: ciphertext + tag; OUT.metadata.json: the user metadata;
 *       OUT.instruction: the instruction file (with --instruction-file).
 *       KEY: the AES key, hex (ignored with --rsa-der: the RSA public key,
 *       DER, needs a library built with --features rsa and -DS3EC_RSA).
 *   s3ec_file decrypt KEY IN OUT [--allow-v2]
 *       Reads IN, IN.metadata.json and IN.instruction (if present); OUT is
 *       created only after the whole object was authenticated.
 *
 * Exit status: 0 ok, 1 an s3ec error (message on stderr), 2 usage or I/O.
 * Compiled and run by crates/s3ec-c/tests/c_program.rs. */
#include "s3ec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096
#define MAX_DOC 65536

static int fail(const char *what, int32_t rc) {
    fprintf(stderr, "s3ec_file: %s: %s (%d)\n", what, s3ec_error_message(rc), (int)rc);
    return 1;
}

static int io_fail(const char *what, const char *path) {
    fprintf(stderr, "s3ec_file: %s %s\n", what, path);
    return 2;
}

/* The random callback: the OS's generator. */
static int32_t os_random(void *ctx, uint8_t *buf, size_t len) {
    FILE *f = (FILE *)ctx;
    return fread(buf, 1, len, f) == len ? 0 : -1;
}

static int parse_hex(const char *hex, uint8_t *out, size_t cap, size_t *len) {
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int b;
        if (sscanf(hex + 2 * i, "%2x", &b) != 1) return -1;
        out[i] = (uint8_t)b;
    }
    *len = n / 2;
    return 0;
}

/* Reads a whole (small) file; returns its length or -1. */
static long read_small(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    return more ? -1 : (long)n;
}

static int write_small(const char *path, const char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(buf, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static char doc[MAX_DOC];
static char path[4096];

static int encrypt(const uint8_t *key, size_t key_len, const char *in_path, const char *out_path,
                   uint32_t format, int instruction, const char *matdesc, const char *rsa_der) {
    s3ec_encryptor enc; /* on the stack: no allocation anywhere */
    FILE *urandom = fopen("/dev/urandom", "rb");
    if (!urandom) return io_fail("cannot open", "/dev/urandom");
    int32_t rc;
    if (rsa_der) {
#if defined(S3EC_RSA)
        uint8_t der[2048];
        long n = read_small(rsa_der, (char *)der, sizeof der);
        if (n < 0) return io_fail("cannot read", rsa_der);
        rc = s3ec_encrypt_init_rsa(&enc, der, (size_t)n, format, os_random, urandom);
#else
        fprintf(stderr, "s3ec_file: built without S3EC_RSA\n");
        return 2;
#endif
    } else {
        rc = s3ec_encrypt_init_aes(&enc, key, key_len, format, os_random, urandom);
    }
    fclose(urandom);
    if (rc != S3EC_OK) return fail("init", rc);

    FILE *in = fopen(in_path, "rb");
    if (!in) return io_fail("cannot open", in_path);
    fseek(in, 0, SEEK_END);
    uint64_t plain_len = (uint64_t)ftell(in);
    fseek(in, 0, SEEK_SET);

    /* The envelope first: it does not depend on the body (a device can
     * send it to its backend for a presigned PUT before encrypting). */
    size_t md_len = matdesc ? strlen(matdesc) : 0;
    uint32_t placement = instruction ? S3EC_PLACEMENT_INSTRUCTION_FILE : S3EC_PLACEMENT_OBJECT_METADATA;
    size_t n = 0;
    /* Too small a buffer is reported with the length needed. */
    rc = s3ec_encrypt_write_metadata_json(&enc, matdesc, md_len, placement, plain_len, doc, 8, &n);
    if (rc != S3EC_ERR_BUFFER_TOO_SMALL || n < 8) return fail("metadata json (small buffer)", rc);
    rc = s3ec_encrypt_write_metadata_json(&enc, matdesc, md_len, placement, plain_len, doc, sizeof doc, &n);
    if (rc != S3EC_OK) return fail("metadata json", rc);
    if (doc[n] != '\0') return fail("metadata json not NUL-terminated", 0);
    snprintf(path, sizeof path, "%s.metadata.json", out_path);
    if (write_small(path, doc, n) != 0) return io_fail("cannot write", path);
    if (instruction) {
        rc = s3ec_encrypt_write_instruction_file(&enc, matdesc, md_len, doc, sizeof doc, &n);
        if (rc != S3EC_OK) return fail("instruction file", rc);
        snprintf(path, sizeof path, "%s.instruction", out_path);
        if (write_small(path, doc, n) != 0) return io_fail("cannot write", path);
    }

    FILE *out = fopen(out_path, "wb");
    if (!out) return io_fail("cannot create", out_path);
    uint8_t buf[CHUNK];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0) {
        rc = s3ec_encrypt_update(&enc, buf, got);
        if (rc != S3EC_OK) return fail("update", rc);
        if (fwrite(buf, 1, got, out) != got) return io_fail("cannot write", out_path);
    }
    uint8_t tag[S3EC_TAG_LEN];
    rc = s3ec_encrypt_finish(&enc, tag);
    if (rc != S3EC_OK) return fail("finish", rc);
    /* Finished: a second finish or update is refused. */
    if (s3ec_encrypt_finish(&enc, tag) != S3EC_ERR_STATE) return fail("finish twice", 0);
    if (fwrite(tag, 1, sizeof tag, out) != sizeof tag) return io_fail("cannot write", out_path);
    s3ec_encryptor_wipe(&enc);
    if (s3ec_encrypt_update(&enc, buf, 1) != S3EC_ERR_STATE) return fail("update after wipe", 0);
    fclose(in);
    return fclose(out) == 0 ? 0 : io_fail("cannot write", out_path);
}

static char instr[MAX_DOC];

static int decrypt(const uint8_t *key, size_t key_len, const char *in_path, const char *out_path,
                   uint32_t flags) {
    s3ec_decryptor dec;
    snprintf(path, sizeof path, "%s.metadata.json", in_path);
    long meta_len = read_small(path, doc, sizeof doc);
    if (meta_len < 0) return io_fail("cannot read", path);
    snprintf(path, sizeof path, "%s.instruction", in_path);
    long instr_len = read_small(path, instr, sizeof instr);
    int32_t rc = s3ec_decrypt_init_aes(&dec, key, key_len, doc, (size_t)meta_len,
                                       instr_len >= 0 ? instr : NULL,
                                       instr_len >= 0 ? (size_t)instr_len : 0, flags);
    if (rc != S3EC_OK) return fail("init", rc);

    FILE *in = fopen(in_path, "rb");
    if (!in) return io_fail("cannot open", in_path);
    uint8_t buf[CHUNK];
    /* Nothing is released before the whole object is authenticated. */
    if (s3ec_decrypt_at(&dec, 0, buf, 0) != S3EC_ERR_NOT_VERIFIED) return fail("decrypt before verify", 0);
    size_t got;
    while ((got = fread(buf, 1, 1000, in)) > 0) { /* odd chunks on purpose */
        rc = s3ec_decrypt_verify_update(&dec, buf, got);
        if (rc != S3EC_OK) return fail("verify", rc);
    }
    uint64_t plain_len = 0;
    rc = s3ec_decrypt_verify_finish(&dec, &plain_len);
    if (rc != S3EC_OK) {
        s3ec_decryptor_wipe(&dec);
        return fail("verify", rc);
    }
    FILE *out = fopen(out_path, "wb");
    if (!out) return io_fail("cannot create", out_path);
    fseek(in, 0, SEEK_SET);
    uint64_t off = 0;
    while (off < plain_len) {
        size_t want = plain_len - off < sizeof buf ? (size_t)(plain_len - off) : sizeof buf;
        if (fread(buf, 1, want, in) != want) return io_fail("cannot read", in_path);
        rc = s3ec_decrypt_at(&dec, off, buf, want);
        if (rc != S3EC_OK) return fail("decrypt", rc);
        if (fwrite(buf, 1, want, out) != want) return io_fail("cannot write", out_path);
        off += want;
    }
    s3ec_decryptor_wipe(&dec);
    fclose(in);
    return fclose(out) == 0 ? 0 : io_fail("cannot write", out_path);
}

int main(int argc, char **argv) {
    if (sizeof(s3ec_encryptor) != s3ec_encryptor_size() || sizeof(s3ec_decryptor) != s3ec_decryptor_size() ||
        _Alignof(s3ec_encryptor) != s3ec_state_align()) {
        fprintf(stderr, "s3ec_file: s3ec.h does not match the library\n");
        return 2;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: s3ec_file encrypt|decrypt KEY_HEX IN OUT [options]\n");
        return 2;
    }
    uint8_t key[32];
    size_t key_len = 0;
    if (parse_hex(argv[2], key, sizeof key, &key_len) != 0) {
        fprintf(stderr, "s3ec_file: KEY must be hex, at most 32 bytes\n");
        return 2;
    }
    uint32_t format = S3EC_FORMAT_V3, flags = 0;
    int instruction = 0;
    const char *matdesc = NULL, *rsa_der = NULL;
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "--v2")) format = S3EC_FORMAT_V2;
        else if (!strcmp(argv[i], "--instruction-file")) instruction = 1;
        else if (!strcmp(argv[i], "--allow-v2")) flags |= S3EC_DECRYPT_ALLOW_NON_COMMITTING;
        else if (!strcmp(argv[i], "--matdesc") && i + 1 < argc) matdesc = argv[++i];
        else if (!strcmp(argv[i], "--rsa-der") && i + 1 < argc) rsa_der = argv[++i];
        else {
            fprintf(stderr, "s3ec_file: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!strcmp(argv[1], "encrypt"))
        return encrypt(key, key_len, argv[3], argv[4], format, instruction, matdesc, rsa_der);
    if (!strcmp(argv[1], "decrypt")) return decrypt(key, key_len, argv[3], argv[4], flags);
    fprintf(stderr, "s3ec_file: unknown command %s\n", argv[1]);
    return 2;
}
