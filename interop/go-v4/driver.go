// Interop peer driver: github.com/aws/amazon-s3-encryption-client-go/v4 (the
// current Go S3 Encryption Client, the only Go client that writes V3), built in
// module mode by interop/setup.sh from the pinned go.mod/go.sum.
//
// Same command-line contract as the other peers (see interop/README.md):
//
//	go-v4-driver put --endpoint URL --bucket B --key K --in FILE  --mode MODE [options]
//	go-v4-driver get --endpoint URL --bucket B --key K --out FILE --mode MODE [options]
//	go-v4-driver modes
//
// Exit status: 0 ok; 1 the peer failed (its own error on stderr, verbatim, after
// "peer-error: "); 2 usage error; 3 the peer has no API for what was asked.
//
// Modes:
//
//	v3-kms  client.New(s3, NewCryptographicMaterialsManager(NewKmsKeyring(kms, id)))
//	        with the default policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT: writes V3
//	        (AES-256-GCM-HKDF-SHA512-COMMIT-KEY, kms+context); reads V3 only.
//	v2-kms  the same with FORBID_ENCRYPT_ALLOW_DECRYPT: writes V2 (AES/GCM,
//	        kms+context); reads V2 and V3. --legacy (get): KeyringOptions
//	        EnableLegacyWrappingAlgorithms + EnableLegacyUnauthenticatedModes
//	        (kms wrap, AES/CBC content).
//
// --context is the encryption context (ctx value client.EncryptionContext) of a put,
// and of a get, where the client checks it against the stored one. Without
// --kms-key-id a get uses NewKmsDecryptOnlyAnyKeyKeyring.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/aws/amazon-s3-encryption-client-go/v4/client"
	"github.com/aws/amazon-s3-encryption-client-go/v4/commitment"
	"github.com/aws/amazon-s3-encryption-client-go/v4/materials"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	peer            = "go-v4"
	exitPeer        = 1
	exitUsage       = 2
	exitUnsupported = 3
)

var modes = map[string]string{
	"v3-kms": "S3EncryptionClientV4, KmsKeyring, REQUIRE_ENCRYPT_REQUIRE_DECRYPT: V3 (committing AES-GCM, kms+context); reads V3 only",
	"v2-kms": "S3EncryptionClientV4, KmsKeyring, FORBID_ENCRYPT_ALLOW_DECRYPT: V2 (AES/GCM, kms+context); reads V2 and V3 (--legacy: kms wrap, AES/CBC)",
}

type unsupportedError struct{ msg string }

func (e unsupportedError) Error() string { return e.msg }

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type opts struct {
	cmd, endpoint, region, bucket, key, mode, kmsKeyID string
	aesKey, rsaPem, context, matdesc, in, out          string
	instructionFile, multipart, legacy                 bool
	partSize                                           int
}

const usageLine = "go-v4-driver put|get|modes [options]"

func parse(args []string) (*opts, error) {
	if len(args) < 1 {
		return nil, usageError{usageLine}
	}
	o := &opts{cmd: args[0]}
	if o.cmd == "modes" {
		return o, nil
	}
	if o.cmd != "put" && o.cmd != "get" {
		return nil, usageError{usageLine}
	}
	fs := flag.NewFlagSet(o.cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	endpoint := os.Getenv("S3EC_MOTO_ENDPOINT")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	fs.StringVar(&o.endpoint, "endpoint", endpoint, "")
	fs.StringVar(&o.region, "region", region, "")
	fs.StringVar(&o.bucket, "bucket", "", "")
	fs.StringVar(&o.key, "key", "", "")
	fs.StringVar(&o.mode, "mode", "", "")
	fs.StringVar(&o.kmsKeyID, "kms-key-id", "", "")
	fs.StringVar(&o.aesKey, "aes-key-b64", "", "")
	fs.StringVar(&o.rsaPem, "rsa-private-pem", "", "")
	fs.StringVar(&o.context, "context", "", "")
	fs.StringVar(&o.matdesc, "matdesc", "", "")
	fs.BoolVar(&o.instructionFile, "instruction-file", false, "")
	if o.cmd == "put" {
		fs.StringVar(&o.in, "in", "", "")
		fs.BoolVar(&o.multipart, "multipart", false, "")
		fs.IntVar(&o.partSize, "part-size", 5*1024*1024, "")
	} else {
		fs.StringVar(&o.out, "out", "", "")
		fs.BoolVar(&o.legacy, "legacy", false, "")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return nil, usageError{err.Error()}
	}
	if fs.NArg() != 0 {
		return nil, usageError{"unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	for name, v := range map[string]string{"endpoint": o.endpoint, "bucket": o.bucket, "key": o.key, "mode": o.mode} {
		if v == "" {
			return nil, usageError{"--" + name + " is required"}
		}
	}
	if o.cmd == "put" && o.in == "" {
		return nil, usageError{"--in is required"}
	}
	if o.cmd == "get" && o.out == "" {
		return nil, usageError{"--out is required"}
	}
	if _, ok := modes[o.mode]; !ok {
		return nil, usageError{fmt.Sprintf("unknown mode %q for peer %s; modes: %s", o.mode, peer, strings.Join(modeNames(), ", "))}
	}
	return o, nil
}

func modeNames() []string {
	names := make([]string, 0, len(modes))
	for m := range modes {
		names = append(names, m)
	}
	sort.Strings(names)
	return names
}

// checkCommon refuses what the v4 client has no API for.
func checkCommon(o *opts) error {
	if o.aesKey != "" || o.rsaPem != "" {
		return unsupportedError{"amazon-s3-encryption-client-go v4 has no raw-key keyrings: its only keyrings are KMS (materials.NewKmsKeyring, materials.NewKmsDecryptOnlyAnyKeyKeyring); there is no AES or RSA keyring"}
	}
	if o.multipart {
		return unsupportedError{"amazon-s3-encryption-client-go v4 has no multipart upload (S3EncryptionClientV4 encrypts in PutObject only; CreateMultipartUpload/UploadPart are the plain S3 client's)"}
	}
	if o.instructionFile {
		return unsupportedError{"amazon-s3-encryption-client-go v4 cannot write instruction files (its only save strategy is ObjectMetadataSaveStrategy; it reads them)"}
	}
	if o.matdesc != "" {
		return unsupportedError{"amazon-s3-encryption-client-go v4 takes no material description: KMS keyrings store the encryption context (use --context)"}
	}
	return nil
}

func newClient(o *opts) (*client.S3EncryptionClientV4, error) {
	id := os.Getenv("AWS_ACCESS_KEY_ID")
	if id == "" {
		id = "testing"
	}
	secret := os.Getenv("AWS_SECRET_ACCESS_KEY")
	if secret == "" {
		secret = "testing"
	}
	// The v4 client reads instruction files through an S3 client of its own, made
	// by config.LoadDefaultConfig (internal/strategy.go), not through the client
	// given to client.New: point the default configuration at the same endpoint,
	// region and credentials (config reads AWS_ENDPOINT_URL since aws-sdk-go-v2
	// config 1.25, hence the SDK upgrades in go.mod).
	for k, v := range map[string]string{"AWS_REGION": o.region, "AWS_ENDPOINT_URL": o.endpoint,
		"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	cfg := aws.Config{
		Region:           o.region,
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 3,
	}
	s3Client := s3.NewFromConfig(cfg, func(opt *s3.Options) {
		opt.BaseEndpoint = aws.String(o.endpoint)
		opt.UsePathStyle = true
	})
	kmsClient := kms.NewFromConfig(cfg, func(opt *kms.Options) {
		opt.BaseEndpoint = aws.String(o.endpoint)
	})
	legacy := o.cmd == "get" && o.legacy
	keyringOpt := func(k *materials.KeyringOptions) { k.EnableLegacyWrappingAlgorithms = legacy }
	var keyring materials.Keyring
	if o.kmsKeyID != "" {
		keyring = materials.NewKmsKeyring(kmsClient, o.kmsKeyID, keyringOpt)
	} else if o.cmd == "get" {
		keyring = materials.NewKmsDecryptOnlyAnyKeyKeyring(kmsClient, keyringOpt)
	} else {
		return nil, usageError{"--kms-key-id is required for put"}
	}
	cmm, err := materials.NewCryptographicMaterialsManager(keyring)
	if err != nil {
		return nil, err
	}
	return client.New(s3Client, cmm, func(c *client.EncryptionClientOptions) {
		c.TempFolderPath = os.TempDir()
		c.EnableLegacyUnauthenticatedModes = legacy
		if o.mode == "v2-kms" {
			c.CommitmentPolicy = commitment.FORBID_ENCRYPT_ALLOW_DECRYPT
		} else {
			c.CommitmentPolicy = commitment.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
		}
	})
}

// withContext puts --context where the client looks for it.
func withContext(o *opts) (context.Context, error) {
	ctx := context.Background()
	if o.context == "" {
		return ctx, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(o.context), &m); err != nil {
		return nil, usageError{fmt.Sprintf("--context must be a JSON object of strings: %v", err)}
	}
	return context.WithValue(ctx, client.EncryptionContext, m), nil //nolint:staticcheck // the client's own key
}

func put(o *opts) error {
	if err := checkCommon(o); err != nil {
		return err
	}
	ctx, err := withContext(o)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(o.in)
	if err != nil {
		return usageError{err.Error()}
	}
	c, err := newClient(o)
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(o.bucket),
		Key:    aws.String(o.key),
		Body:   bytes.NewReader(body),
	})
	return err
}

func get(o *opts) error {
	if err := checkCommon(o); err != nil {
		return err
	}
	ctx, err := withContext(o)
	if err != nil {
		return err
	}
	c, err := newClient(o)
	if err != nil {
		return err
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(o.out, data, 0o644)
}

func main() {
	o, err := parse(os.Args[1:])
	if err == nil && o.cmd == "modes" {
		names := modeNames()
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", " ")
		_ = enc.Encode(map[string]interface{}{
			"peer": peer, "modes": modes, "put": names, "get": names,
			"instruction_file_put": []string{}, "instruction_file_get": names,
			"multipart_put": []string{}, "legacy_get": []string{"v2-kms"},
			"get_checks_context": names,
		})
		return
	}
	if err == nil {
		if o.cmd == "put" {
			err = put(o)
		} else {
			err = get(o)
		}
	}
	if err == nil {
		return
	}
	var ue usageError
	var un unsupportedError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "usage: "+ue.msg)
		os.Exit(exitUsage)
	case errors.As(err, &un):
		fmt.Fprintln(os.Stderr, "unsupported: "+un.msg)
		os.Exit(exitUnsupported)
	default:
		fmt.Fprintln(os.Stderr, "peer-error: "+err.Error())
		os.Exit(exitPeer)
	}
}
