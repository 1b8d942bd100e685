package s3ecinterop;

import java.net.URI;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import javax.crypto.spec.SecretKeySpec;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3BaseClientBuilder;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.SdkPartType;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;
import software.amazon.encryption.s3.S3EncryptionClient;
import software.amazon.encryption.s3.internal.InstructionFileConfig;
import software.amazon.encryption.s3.internal.ReEncryptInstructionFileRequest;
import software.amazon.encryption.s3.materials.AesKeyring;
import software.amazon.encryption.s3.materials.Keyring;
import software.amazon.encryption.s3.materials.KmsKeyring;
import software.amazon.encryption.s3.materials.MaterialsDescription;
import software.amazon.encryption.s3.materials.PartialRsaKeyPair;
import software.amazon.encryption.s3.materials.RawKeyring;
import software.amazon.encryption.s3.materials.RsaKeyring;

/**
 * Peers java3 and java4: software.amazon.encryption.s3:amazon-s3-encryption-client-java
 * (3.5.0 / 4.0.1, the newest 3.x and 4.x on Maven Central, same source, see pom.xml;
 * 3.5.0 has no commitment policy: its v3 modes exit 3). Modes {@code v3-kms|aes|rsa}:
 * {@code S3EncryptionClient.builderV4()} with REQUIRE_ENCRYPT_REQUIRE_DECRYPT and
 * ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY (V3); {@code v2-kms|aes|rsa}:
 * FORBID_ENCRYPT_ALLOW_DECRYPT and ALG_AES_256_GCM_IV12_TAG16_NO_KDF (V2), reads
 * V2 and V3. {@code --legacy} (get): enableLegacyWrappingAlgorithms +
 * enableLegacyUnauthenticatedModes. Options beyond the common contract:
 * {@code --multipart} = enableMultipartPutObject (the high-level API);
 * {@code --multipart --low-level} = createMultipartUpload/uploadPart/complete;
 * {@code --range SPEC} (get) = a ranged GetObject; {@code --instruction-suffix S}
 * (get) = withCustomInstructionFileSuffix; {@code --delayed-auth} (get).
 */
public final class S3ecPeer implements Driver.Peer {
    private final String name;

    S3ecPeer(String name) {
        this.name = name;
    }

    public static void main(String[] args) {
        String peer = System.getProperty("s3ec.peer", "java4");
        Driver.main(new S3ecPeer(peer), args);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Map<String, String> modes() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kind : new String[] {"kms", "aes", "rsa"}) {
            m.put("v3-" + kind, "S3EncryptionClient (builderV4), " + keyring(kind)
                    + ", REQUIRE_ENCRYPT_REQUIRE_DECRYPT + ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY (V3); reads V3 only");
            m.put("v2-" + kind, "S3EncryptionClient (builderV4), " + keyring(kind)
                    + ", FORBID_ENCRYPT_ALLOW_DECRYPT + ALG_AES_256_GCM_IV12_TAG16_NO_KDF (V2); reads V2 and V3");
        }
        return m;
    }

    private static String keyring(String kind) {
        switch (kind) {
            case "kms": return "KmsKeyring";
            case "aes": return "AesKeyring";
            default: return "RsaKeyring";
        }
    }

    @Override
    public Map<String, List<String>> capabilities() {
        List<String> all = new ArrayList<>(modes().keySet());
        List<String> v2 = new ArrayList<>();
        for (String m : all) {
            if (m.startsWith("v2-")) {
                v2.add(m);
            }
        }
        Map<String, List<String>> c = Driver.caps();
        c.put("put", all);
        c.put("get", all);
        c.put("instruction_file_put", all);
        c.put("instruction_file_get", all);
        c.put("multipart_put", all);
        c.put("legacy_get", v2);
        c.put("ranged_get", all);
        c.put("get_checks_context", List.of("v3-kms", "v2-kms"));
        return c;
    }

    /**
     * moto answers the SDK's "Expect: 100-continue" with a bare 100 that the async
     * (Netty) client reports as "S3Exception: (Service: S3, Status Code: 100)": the
     * header goes (it changes nothing in what is stored).
     */
    private static final ClientOverrideConfiguration NO_EXPECT = ClientOverrideConfiguration.builder()
            .addExecutionInterceptor(new ExecutionInterceptor() {
                @Override
                public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context,
                                                        ExecutionAttributes executionAttributes) {
                    return context.httpRequest().toBuilder().removeHeader("Expect").build();
                }
            })
            .build();

    /**
     * The SDK clients, one per endpoint/region/credentials for the life of the JVM:
     * building them (the async one makes a Netty event loop) is most of a call's
     * cost in a long-lived JVM. They hold no encryption state; every call builds its
     * own keyring and S3EncryptionClient over them (and never closes them).
     */
    private static final Map<String, Object> SDK_CLIENTS = new ConcurrentHashMap<>();

    private static String sdkKey(Driver.Opts o, String what) {
        return what + "\0" + o.endpoint + "\0" + o.region + "\0" + o.accessKey + "\0" + o.secretKey;
    }

    private static S3Client s3(Driver.Opts o) {
        return (S3Client) SDK_CLIENTS.computeIfAbsent(sdkKey(o, "s3"), k -> toMoto(S3Client.builder(), o));
    }

    private static S3AsyncClient s3Async(Driver.Opts o) {
        return (S3AsyncClient) SDK_CLIENTS.computeIfAbsent(sdkKey(o, "s3async"),
                k -> toMoto(S3AsyncClient.builder(), o));
    }

    /** An S3 client (sync or async) for the call's endpoint, path-style. */
    private static <B extends S3BaseClientBuilder<B, C>, C> C toMoto(B b, Driver.Opts o) {
        return b.overrideConfiguration(NO_EXPECT)
                .endpointOverride(URI.create(o.endpoint))
                .region(Region.of(o.region))
                .forcePathStyle(true)
                .credentialsProvider(creds(o))
                .build();
    }

    private static KmsClient kms(Driver.Opts o) {
        return (KmsClient) SDK_CLIENTS.computeIfAbsent(sdkKey(o, "kms"), k -> KmsClient.builder()
                .endpointOverride(URI.create(o.endpoint))
                .region(Region.of(o.region))
                .credentialsProvider(creds(o))
                .build());
    }

    private static StaticCredentialsProvider creds(Driver.Opts o) {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(o.accessKey, o.secretKey));
    }

    private static Keyring keyring(Driver.Opts o, boolean legacy) throws Exception {
        String kind = o.mode.substring(o.mode.indexOf('-') + 1);
        if (!kind.equals(o.keyKind())) {
            throw new Driver.UsageError("mode " + o.mode + " needs a " + kind + " key, got a " + o.keyKind() + " key");
        }
        MaterialsDescription md = null;
        if (o.matdesc != null) {
            if (kind.equals("kms")) {
                throw new Driver.Unsupported("KmsKeyring takes no material description (use --context)");
            }
            md = MaterialsDescription.builder().putAll(o.matdesc).build();
        }
        switch (kind) {
            case "aes":
                return AesKeyring.builder()
                        .wrappingKey(new SecretKeySpec(o.aesKey, "AES"))
                        .materialsDescription(md)
                        .enableLegacyWrappingAlgorithms(legacy)
                        .build();
            case "rsa":
                KeyPair kp = Driver.rsaKeyPair(o);
                return RsaKeyring.builder()
                        .wrappingKeyPair(new PartialRsaKeyPair(kp.getPrivate(), kp.getPublic()))
                        .materialsDescription(md)
                        .enableLegacyWrappingAlgorithms(legacy)
                        .build();
            default:
                return KmsKeyring.builder()
                        .kmsClient(kms(o))
                        .wrappingKeyId(o.kmsKeyId)
                        .enableLegacyWrappingAlgorithms(legacy)
                        .build();
        }
    }

    private static S3EncryptionClient client(Driver.Opts o, S3Client s3) throws Exception {
        boolean legacy = o.cmd.equals("get") && o.legacy;
        if (o.context != null && !o.mode.endsWith("-kms")) {
            throw new Driver.Unsupported("encryption context is supported with KMS keys only (" + o.mode + ")");
        }
        // The client also builds an async S3 client of its own (and, for kmsKeyId, a
        // KMS client): give it the same endpoint, region and credentials.
        S3EncryptionClient.Builder b = newBuilder(o)
                .region(Region.of(o.region))
                .credentialsProvider(creds(o))
                .endpointOverride(URI.create(o.endpoint))
                .forcePathStyle(true)
                .overrideConfiguration(NO_EXPECT)
                .wrappedClient(s3)
                .wrappedAsyncClient(s3Async(o))
                .keyring(keyring(o, legacy))
                .enableLegacyWrappingAlgorithms(legacy)
                .enableLegacyUnauthenticatedModes(legacy)
                .enableDelayedAuthenticationMode(o.delayedAuth)
                .instructionFileConfig(InstructionFileConfig.builder()
                        .instructionFileClient(s3)
                        .enableInstructionFilePutObject(o.instructionFile)
                        .build());
        if (o.mode.startsWith("v3-")) {
            configure(b, "REQUIRE_ENCRYPT_REQUIRE_DECRYPT", "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY", o);
        } else {
            configure(b, "FORBID_ENCRYPT_ALLOW_DECRYPT", "ALG_AES_256_GCM_IV12_TAG16_NO_KDF", o);
        }
        if (o.multipart && !o.lowLevel) {
            b.enableMultipartPutObject(true);
        }
        return b.build();
    }

    /**
     * builderV4() where the version has it (3.6+, 4.x), else builder(): one source
     * for 3.5.0 (the newest 3.x on Maven Central) and 4.x.
     */
    private static S3EncryptionClient.Builder newBuilder(Driver.Opts o) throws Exception {
        try {
            return (S3EncryptionClient.Builder) S3EncryptionClient.class.getMethod("builderV4").invoke(null);
        } catch (NoSuchMethodException e) {
            return (S3EncryptionClient.Builder) S3EncryptionClient.class.getMethod("builder").invoke(null);
        }
    }

    /**
     * commitmentPolicy(policy) and encryptionAlgorithm(suite), by name: 3.5.0 has
     * neither (it writes V2 with ALG_AES_256_GCM_IV12_TAG16_NO_KDF only).
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void configure(S3EncryptionClient.Builder b, String policy, String suite, Driver.Opts o)
            throws Exception {
        Class<?> policyClass;
        try {
            policyClass = Class.forName("software.amazon.encryption.s3.CommitmentPolicy");
        } catch (ClassNotFoundException e) {
            if (o.mode.startsWith("v3-")) {
                throw new Driver.Unsupported("amazon-s3-encryption-client-java " + version()
                        + " has no CommitmentPolicy / encryptionAlgorithm: it writes and reads V2 only"
                        + " (ALG_AES_256_GCM_IV12_TAG16_NO_KDF), not V3");
            }
            return;
        }
        Class<?> suiteClass = Class.forName("software.amazon.encryption.s3.algorithms.AlgorithmSuite");
        b.getClass().getMethod("commitmentPolicy", policyClass)
                .invoke(b, Enum.valueOf((Class) policyClass, policy));
        b.getClass().getMethod("encryptionAlgorithm", suiteClass)
                .invoke(b, Enum.valueOf((Class) suiteClass, suite));
    }

    /** The client's version, from its jar's Maven properties. */
    private static String version() {
        String res = "/META-INF/maven/software.amazon.encryption.s3/amazon-s3-encryption-client-java/pom.properties";
        try (java.io.InputStream in = S3EncryptionClient.class.getResourceAsStream(res)) {
            java.util.Properties p = new java.util.Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", System.getProperty("s3ec.peer", "?"));
        } catch (java.io.IOException e) {
            return System.getProperty("s3ec.peer", "?");
        }
    }

    private static Consumer<AwsRequestOverrideConfiguration.Builder> ctx(Driver.Opts o) {
        return o.context != null ? S3EncryptionClient.withAdditionalConfiguration(o.context) : c -> { };
    }

    @Override
    public void put(Driver.Opts o) throws Exception {
        byte[] body = Driver.input(o);
        // Not closed: close() would close the shared SDK clients.
        S3EncryptionClient c = client(o, s3(o));
        if (o.multipart && o.lowLevel) {
            putLowLevel(o, c, body);
            return;
        }
        c.putObject(PutObjectRequest.builder()
                .bucket(o.bucket)
                .key(o.key)
                .overrideConfiguration(ctx(o))
                .build(), RequestBody.fromBytes(body));
        if (o.rotateAesKey != null || o.rotateRsaPem != null) {
            rotate(o, c);
        }
    }

    /**
     * {@code --rotate-aes-key-b64 K} / {@code --rotate-rsa-pem FILE} (with
     * {@code --instruction-suffix S}): after the put, reEncryptInstructionFile with an
     * AesKeyring of K or an RsaKeyring of FILE's key pair (material description
     * {"rotated": "1"}), into the instruction file itself or K + S. (The client takes
     * a custom suffix with an RSA keyring only.)
     */
    private static void rotate(Driver.Opts o, S3EncryptionClient c) throws Exception {
        if (!o.instructionFile || o.mode.endsWith("-kms")) {
            throw new Driver.UsageError("--rotate-* needs --instruction-file and a raw-key mode");
        }
        MaterialsDescription md = MaterialsDescription.builder().put("rotated", "1").build();
        RawKeyring next;
        if (o.rotateRsaPem != null) {
            KeyPair kp = Driver.rsaKeyPair(o.rotateRsaPem);
            next = RsaKeyring.builder()
                    .wrappingKeyPair(new PartialRsaKeyPair(kp.getPrivate(), kp.getPublic()))
                    .materialsDescription(md)
                    .build();
        } else {
            next = AesKeyring.builder()
                    .wrappingKey(new SecretKeySpec(o.rotateAesKey, "AES"))
                    .materialsDescription(md)
                    .build();
        }
        ReEncryptInstructionFileRequest.Builder req = ReEncryptInstructionFileRequest.builder()
                .bucket(o.bucket)
                .key(o.key)
                .newKeyring(next);
        if (o.suffix != null) {
            // The request prepends "." to its suffix (a get's withCustomInstructionFileSuffix
            // does not): --instruction-suffix is the whole suffix, as for a get.
            if (!o.suffix.startsWith(".")) {
                throw new Driver.Unsupported("reEncryptInstructionFile writes K + \".\" + suffix: "
                        + "--instruction-suffix must start with \".\"");
            }
            req.instructionFileSuffix(o.suffix.substring(1));
        }
        c.reEncryptInstructionFile(req.build());
    }

    /** createMultipartUpload / uploadPart (the last one SdkPartType.LAST) / complete. */
    private static void putLowLevel(Driver.Opts o, S3EncryptionClient c, byte[] body) {
        CreateMultipartUploadResponse up = c.createMultipartUpload(b -> b.bucket(o.bucket).key(o.key)
                .overrideConfiguration(ctx(o)));
        List<CompletedPart> parts = new ArrayList<>();
        int n = (int) Math.max(1, (body.length + o.partSize - 1) / o.partSize);
        for (int i = 0; i < n; i++) {
            int from = (int) Math.min(body.length, i * o.partSize);
            int to = (int) Math.min(body.length, from + o.partSize);
            byte[] part = java.util.Arrays.copyOfRange(body, from, to);
            UploadPartRequest.Builder req = UploadPartRequest.builder()
                    .bucket(o.bucket).key(o.key).uploadId(up.uploadId()).partNumber(i + 1)
                    .contentLength((long) part.length);
            if (i == n - 1) {
                req.sdkPartType(SdkPartType.LAST);
            }
            UploadPartResponse r = c.uploadPart(req.build(), RequestBody.fromBytes(part));
            parts.add(CompletedPart.builder().partNumber(i + 1).eTag(r.eTag()).build());
        }
        c.completeMultipartUpload(CompleteMultipartUploadRequest.builder()
                .bucket(o.bucket).key(o.key).uploadId(up.uploadId())
                .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build())
                .build());
    }

    @Override
    public void get(Driver.Opts o) throws Exception {
        S3EncryptionClient c = client(o, s3(o));
        GetObjectRequest.Builder req = GetObjectRequest.builder().bucket(o.bucket).key(o.key);
        Consumer<AwsRequestOverrideConfiguration.Builder> over = ctx(o);
        if (o.suffix != null) {
            over = over.andThen(S3EncryptionClient.withCustomInstructionFileSuffix(o.suffix));
        }
        req.overrideConfiguration(over);
        if (o.range != null) {
            req.range(o.range);
        }
        ResponseBytes<GetObjectResponse> r = c.getObjectAsBytes(req.build());
        Driver.output(o, r.asByteArray());
    }
}
