// Interop peer driver: aws-sdk-go v1 service/s3/s3crypto (Debian
// golang-github-aws-aws-sdk-go-dev 1.44.133), built offline by interop/setup.sh.
//
// Same command-line contract as the other peers (see interop/README.md):
//
//	go-driver put --endpoint URL --bucket B --key K --in FILE  --mode MODE [options]
//	go-driver get --endpoint URL --bucket B --key K --out FILE --mode MODE [options]
//	go-driver modes
//
// Exit status: 0 ok; 1 the peer failed (its own error on stderr, verbatim, after
// "peer-error: "); 2 usage error; 3 the peer has no API for what was asked.
//
// Modes:
//
//	v2-kmsctx   put: EncryptionClientV2 + AESGCMContentCipherBuilderV2(
//	            NewKMSContextKeyGenerator(kms, id, context)); get: DecryptionClientV2 with
//	            RegisterKMSContextWrapWithCMK + RegisterAESGCMContentCipher (--legacy adds
//	            RegisterKMSWrapWithCMK + RegisterAESCBCContentCipher(AESCBCPadder)).
//	v1-kms-gcm  put: EncryptionClient (V1, deprecated) + AESGCMContentCipherBuilder(
//	            NewKMSKeyGeneratorWithMatDesc(kms, id, context)): "kms" wrap, GCM content.
//	v1-kms-cbc  put: EncryptionClient (V1) + AESCBCContentCipherBuilder(
//	            NewKMSKeyGeneratorWithMatDesc(...), AESCBCPadder): "kms" wrap, CBC content.
//	            get in a v1 mode: DecryptionClientV2 with every registration above.
//
// --context is the KMS context (v2-kmsctx) or the material description that the V1
// kms key generator stores and uses as KMS context (v1 modes; --matdesc is the same
// thing there). --instruction-file puts with S3SaveStrategy (get finds instruction
// files by itself: defaultV2LoadStrategy). Without --kms-key-id a get uses the
// ...WithAnyCMK registrations.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/kms"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/aws/aws-sdk-go/service/s3/s3crypto"
)

const (
	peer            = "go"
	exitPeer        = 1
	exitUsage       = 2
	exitUnsupported = 3
)

var modes = map[string]string{
	"v2-kmsctx":  "EncryptionClientV2 / DecryptionClientV2, kms+context wrap, AES/GCM content",
	"v1-kms-gcm": "EncryptionClient (V1, deprecated), kms wrap (matdesc + kms_cmk_id as context), AES/GCM content",
	"v1-kms-cbc": "EncryptionClient (V1, deprecated), kms wrap (matdesc + kms_cmk_id as context), AES/CBC/PKCS5Padding content",
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

func parse(args []string) (*opts, error) {
	if len(args) < 1 {
		return nil, usageError{"go-driver put|get|modes [options]"}
	}
	o := &opts{cmd: args[0]}
	if o.cmd == "modes" {
		return o, nil
	}
	if o.cmd != "put" && o.cmd != "get" {
		return nil, usageError{"go-driver put|get|modes [options]"}
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
		names := modeNames()
		return nil, usageError{fmt.Sprintf("unknown mode %q for peer %s; modes: %s", o.mode, peer, strings.Join(names, ", "))}
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

func jsonMap(text, what string) (s3crypto.MaterialDescription, error) {
	if text == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, usageError{fmt.Sprintf("--%s must be a JSON object of strings: %v", what, err)}
	}
	md := s3crypto.MaterialDescription{}
	for k, v := range m {
		md[k] = aws.String(v)
	}
	return md, nil
}

func newSession(o *opts) (*session.Session, error) {
	id := os.Getenv("AWS_ACCESS_KEY_ID")
	if id == "" {
		id = "testing"
	}
	secret := os.Getenv("AWS_SECRET_ACCESS_KEY")
	if secret == "" {
		secret = "testing"
	}
	return session.NewSession(&aws.Config{
		Region:           aws.String(o.region),
		Endpoint:         aws.String(o.endpoint),
		S3ForcePathStyle: aws.Bool(true),
		Credentials:      credentials.NewStaticCredentials(id, secret, ""),
		MaxRetries:       aws.Int(2),
	})
}

// context returns the caller's map: --context, or (v1 modes) --matdesc, merged.
func callerMap(o *opts) (s3crypto.MaterialDescription, error) {
	ctx, err := jsonMap(o.context, "context")
	if err != nil {
		return nil, err
	}
	md, err := jsonMap(o.matdesc, "matdesc")
	if err != nil {
		return nil, err
	}
	if md != nil && o.mode == "v2-kmsctx" {
		return nil, unsupportedError{"v2-kmsctx: s3crypto's NewKMSContextKeyGenerator takes one map, the KMS encryption context (use --context); there is no separate material description"}
	}
	if md != nil {
		if ctx == nil {
			ctx = s3crypto.MaterialDescription{}
		}
		for k, v := range md {
			ctx[k] = v
		}
	}
	return ctx, nil
}

func checkCommon(o *opts) error {
	if o.aesKey != "" || o.rsaPem != "" {
		return unsupportedError{"aws-sdk-go s3crypto has no raw-key wraps: its only key generators/wrap entries are KMS (NewKMSContextKeyGenerator, NewKMSKeyGenerator[WithMatDesc]; RegisterKMS[Context]Wrap...); there is no AES/GCM, AES or RSA key wrap"}
	}
	if o.multipart {
		return unsupportedError{"aws-sdk-go s3crypto has no multipart upload (EncryptionClientV2 offers PutObject/PutObjectRequest/PutObjectWithContext only)"}
	}
	return nil
}

func put(o *opts) error {
	if err := checkCommon(o); err != nil {
		return err
	}
	if o.kmsKeyID == "" {
		return usageError{"--kms-key-id is required for put"}
	}
	md, err := callerMap(o)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(o.in)
	if err != nil {
		return usageError{err.Error()}
	}
	sess, err := newSession(o)
	if err != nil {
		return err
	}
	kmsClient := kms.New(sess)
	var save s3crypto.SaveStrategy = s3crypto.HeaderV2SaveStrategy{}
	if o.instructionFile {
		save = s3crypto.S3SaveStrategy{Client: s3.New(sess)}
	}
	input := &s3.PutObjectInput{
		Bucket: aws.String(o.bucket),
		Key:    aws.String(o.key),
		Body:   bytes.NewReader(body),
	}
	switch o.mode {
	case "v2-kmsctx":
		if md == nil {
			md = s3crypto.MaterialDescription{}
		}
		builder := s3crypto.AESGCMContentCipherBuilderV2(s3crypto.NewKMSContextKeyGenerator(kmsClient, o.kmsKeyID, md))
		client, err := s3crypto.NewEncryptionClientV2(sess, builder, func(c *s3crypto.EncryptionClientOptions) {
			c.SaveStrategy = save
			c.TempFolderPath = os.TempDir()
		})
		if err != nil {
			return err
		}
		_, err = client.PutObject(input)
		return err
	default:
		gen := s3crypto.NewKMSKeyGeneratorWithMatDesc(kmsClient, o.kmsKeyID, md)
		var builder s3crypto.ContentCipherBuilder
		if o.mode == "v1-kms-gcm" {
			builder = s3crypto.AESGCMContentCipherBuilder(gen)
		} else {
			builder = s3crypto.AESCBCContentCipherBuilder(gen, s3crypto.AESCBCPadder)
		}
		client := s3crypto.NewEncryptionClient(sess, builder, func(c *s3crypto.EncryptionClient) {
			c.SaveStrategy = save
			c.TempFolderPath = os.TempDir()
		})
		_, err = client.PutObject(input)
		return err
	}
}

func get(o *opts) error {
	if err := checkCommon(o); err != nil {
		return err
	}
	// --context / --matdesc are accepted and validated but not passed on: s3crypto's
	// DecryptionClientV2 has no caller encryption context; it decrypts with the
	// context stored in x-amz-matdesc.
	if _, err := callerMap(o); err != nil {
		return err
	}
	sess, err := newSession(o)
	if err != nil {
		return err
	}
	kmsClient := kms.New(sess)
	cr := s3crypto.NewCryptoRegistry()
	legacy := o.legacy || strings.HasPrefix(o.mode, "v1-")
	if o.kmsKeyID != "" {
		err = s3crypto.RegisterKMSContextWrapWithCMK(cr, kmsClient, o.kmsKeyID)
	} else {
		err = s3crypto.RegisterKMSContextWrapWithAnyCMK(cr, kmsClient)
	}
	if err != nil {
		return err
	}
	if err := s3crypto.RegisterAESGCMContentCipher(cr); err != nil {
		return err
	}
	if legacy {
		if o.kmsKeyID != "" {
			err = s3crypto.RegisterKMSWrapWithCMK(cr, kmsClient, o.kmsKeyID)
		} else {
			err = s3crypto.RegisterKMSWrapWithAnyCMK(cr, kmsClient)
		}
		if err != nil {
			return err
		}
		if err := s3crypto.RegisterAESCBCContentCipher(cr, s3crypto.AESCBCPadder); err != nil {
			return err
		}
	}
	client, err := s3crypto.NewDecryptionClientV2(sess, cr)
	if err != nil {
		return err
	}
	out, err := client.GetObject(&s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key)})
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
			"instruction_file_put": names, "instruction_file_get": names,
			"multipart_put": []string{}, "legacy_get": []string{"v2-kmsctx"},
			"get_checks_context": []string{},
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
		// The peer's own error, verbatim (awserr: "Code: message\ncaused by: ...").
		fmt.Fprintln(os.Stderr, "peer-error: "+err.Error())
		os.Exit(exitPeer)
	}
}
