package s3ecinterop;

import java.io.InputStream;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.spec.SecretKeySpec;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration;
import com.amazonaws.services.kms.AWSKMS;
import com.amazonaws.services.kms.AWSKMSClientBuilder;
import com.amazonaws.services.s3.AmazonS3;
import com.amazonaws.services.s3.AmazonS3EncryptionClientBuilder;
import com.amazonaws.services.s3.AmazonS3EncryptionClientV2Builder;
import com.amazonaws.services.s3.model.CompleteMultipartUploadRequest;
import com.amazonaws.services.s3.model.CryptoConfiguration;
import com.amazonaws.services.s3.model.CryptoConfigurationV2;
import com.amazonaws.services.s3.model.CryptoMode;
import com.amazonaws.services.s3.model.CryptoRangeGetMode;
import com.amazonaws.services.s3.model.CryptoStorageMode;
import com.amazonaws.services.s3.model.EncryptedGetObjectRequest;
import com.amazonaws.services.s3.model.EncryptedInitiateMultipartUploadRequest;
import com.amazonaws.services.s3.model.EncryptionMaterials;
import com.amazonaws.services.s3.model.EncryptionMaterialsProvider;
import com.amazonaws.services.s3.model.InitiateMultipartUploadResult;
import com.amazonaws.services.s3.model.KMSEncryptionMaterials;
import com.amazonaws.services.s3.model.KMSEncryptionMaterialsProvider;
import com.amazonaws.services.s3.model.ObjectMetadata;
import com.amazonaws.services.s3.model.PartETag;
import com.amazonaws.services.s3.model.PutObjectRequest;
import com.amazonaws.services.s3.model.S3Object;
import com.amazonaws.services.s3.model.StaticEncryptionMaterialsProvider;
import com.amazonaws.services.s3.model.UploadPartRequest;

/**
 * Peer java-v1: com.amazonaws:aws-java-sdk-s3 1.12.x, both encryption clients.
 * Modes {@code v2-kms|aes|rsa}: AmazonS3EncryptionClientV2 (CryptoConfigurationV2,
 * StrictAuthenticatedEncryption; kms+context, AES/GCM, RSA-OAEP-SHA1 wraps, AES/GCM
 * content; get {@code --legacy}: CryptoMode.AuthenticatedEncryption, which also reads
 * V1-era objects). Modes {@code v1-eo|ae|sae-kms|aes|rsa}: the deprecated
 * AmazonS3EncryptionClient in CryptoMode EncryptionOnly (CBC content; AES/ECB, RSA
 * PKCS#1 and kms wraps), AuthenticatedEncryption and StrictAuthenticatedEncryption
 * (GCM content; AESWrap, RSA/ECB/OAEPWithSHA-256AndMGF1Padding and kms wraps).
 * {@code --matdesc} / {@code --context} become the materials' description (for KMS,
 * the encryption context). {@code --instruction-file}: CryptoStorageMode.InstructionFile.
 * {@code --multipart} (put): initiateMultipartUpload / uploadPart (withLastPart) /
 * completeMultipartUpload. {@code --range bytes=A-B} (get): a ranged get with
 * CryptoRangeGetMode.ALL. {@code --instruction-suffix S} (get): EncryptedGetObjectRequest
 * withInstructionFileSuffix.
 */
public final class V1Peer implements Driver.Peer {
    public static void main(String[] args) {
        Driver.main(new V1Peer(), args);
    }

    @Override
    public String name() {
        return "java-v1";
    }

    private static final String[][] V1_MODES = {
        {"eo", "EncryptionOnly", "AES/CBC content; wraps AES/ECB (AES key), RSA/ECB/PKCS1Padding (RSA), kms"},
        {"ae", "AuthenticatedEncryption", "AES/GCM content; wraps AESWrap, RSA/ECB/OAEPWithSHA-256AndMGF1Padding, kms; reads CBC too"},
        {"sae", "StrictAuthenticatedEncryption", "AES/GCM content; wraps as ae; reads GCM only"},
    };

    @Override
    public Map<String, String> modes() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kind : new String[] {"kms", "aes", "rsa"}) {
            m.put("v2-" + kind, "AmazonS3EncryptionClientV2, StrictAuthenticatedEncryption, "
                    + (kind.equals("kms") ? "kms+context" : kind.equals("aes") ? "AES/GCM" : "RSA-OAEP-SHA1")
                    + " wrap, AES/GCM content (--legacy get: AuthenticatedEncryption)");
        }
        for (String[] v1 : V1_MODES) {
            for (String kind : new String[] {"kms", "aes", "rsa"}) {
                m.put("v1-" + v1[0] + "-" + kind, "AmazonS3EncryptionClient (deprecated), CryptoMode." + v1[1] + ": " + v1[2]);
            }
        }
        return m;
    }

    @Override
    public Map<String, List<String>> capabilities() {
        List<String> all = new ArrayList<>(modes().keySet());
        Map<String, List<String>> c = Driver.caps();
        c.put("put", all);
        c.put("get", all);
        c.put("instruction_file_put", all);
        c.put("instruction_file_get", all);
        c.put("multipart_put", all);
        c.put("legacy_get", List.of("v2-kms", "v2-aes", "v2-rsa"));
        c.put("ranged_get", all);
        c.put("get_checks_context", List.of());
        return c;
    }

    private static String kind(Driver.Opts o) throws Driver.UsageError {
        String kind = o.mode.substring(o.mode.lastIndexOf('-') + 1);
        if (!kind.equals(o.keyKind())) {
            throw new Driver.UsageError("mode " + o.mode + " needs a " + kind + " key, got a " + o.keyKind() + " key");
        }
        return kind;
    }

    private static EncryptionMaterialsProvider materials(Driver.Opts o) throws Exception {
        String kind = kind(o);
        Map<String, String> desc = new LinkedHashMap<>();
        if (o.matdesc != null) {
            desc.putAll(o.matdesc);
        }
        if (o.context != null) {
            desc.putAll(o.context);
        }
        switch (kind) {
            case "aes": {
                EncryptionMaterials m = new EncryptionMaterials(new SecretKeySpec(o.aesKey, "AES"));
                m.addDescriptions(desc);
                return new StaticEncryptionMaterialsProvider(m);
            }
            case "rsa": {
                KeyPair kp = Driver.rsaKeyPair(o);
                EncryptionMaterials m = new EncryptionMaterials(kp);
                m.addDescriptions(desc);
                return new StaticEncryptionMaterialsProvider(m);
            }
            default: {
                if (o.kmsKeyId == null) {
                    throw new Driver.UsageError("--kms-key-id is required");
                }
                KMSEncryptionMaterials m = new KMSEncryptionMaterials(o.kmsKeyId);
                m.addDescriptions(desc);
                return new KMSEncryptionMaterialsProvider(m);
            }
        }
    }

    private static AWSStaticCredentialsProvider creds(Driver.Opts o) {
        return new AWSStaticCredentialsProvider(new BasicAWSCredentials(o.accessKey, o.secretKey));
    }

    private static AmazonS3 client(Driver.Opts o) throws Exception {
        EndpointConfiguration ep = new EndpointConfiguration(o.endpoint, o.region);
        AWSKMS kms = AWSKMSClientBuilder.standard().withEndpointConfiguration(ep).withCredentials(creds(o)).build();
        CryptoStorageMode storage = o.instructionFile ? CryptoStorageMode.InstructionFile : CryptoStorageMode.ObjectMetadata;
        if (o.mode.startsWith("v2-")) {
            CryptoConfigurationV2 conf = new CryptoConfigurationV2()
                    .withCryptoMode(o.legacy ? CryptoMode.AuthenticatedEncryption : CryptoMode.StrictAuthenticatedEncryption)
                    .withStorageMode(storage);
            if (o.range != null) {
                conf.withRangeGetMode(CryptoRangeGetMode.ALL);
            }
            return AmazonS3EncryptionClientV2Builder.standard()
                    .withEndpointConfiguration(ep)
                    .withPathStyleAccessEnabled(true)
                    .withCredentials(creds(o))
                    .withKmsClient(kms)
                    .withCryptoConfiguration(conf)
                    .withEncryptionMaterialsProvider(materials(o))
                    .build();
        }
        String sub = o.mode.split("-")[1];
        CryptoMode mode;
        switch (sub) {
            case "eo": mode = CryptoMode.EncryptionOnly; break;
            case "ae": mode = CryptoMode.AuthenticatedEncryption; break;
            default: mode = CryptoMode.StrictAuthenticatedEncryption; break;
        }
        @SuppressWarnings("deprecation")
        // (The legacy CryptoConfiguration has no range-get switch: ranged gets are on.)
        CryptoConfiguration conf = new CryptoConfiguration(mode).withStorageMode(storage);
        @SuppressWarnings("deprecation")
        AmazonS3 c = AmazonS3EncryptionClientBuilder.standard()
                .withEndpointConfiguration(ep)
                .withPathStyleAccessEnabled(true)
                .withCredentials(creds(o))
                .withKmsClient(kms)
                .withCryptoConfiguration(conf)
                .withEncryptionMaterials(materials(o))
                .build();
        return c;
    }

    @Override
    public void put(Driver.Opts o) throws Exception {
        byte[] body = Driver.input(o);
        AmazonS3 c = client(o);
        try {
            if (o.multipart) {
                putMultipart(o, c, body);
                return;
            }
            ObjectMetadata md = new ObjectMetadata();
            md.setContentLength(body.length);
            c.putObject(new PutObjectRequest(o.bucket, o.key, new java.io.ByteArrayInputStream(body), md));
        } finally {
            c.shutdown();
        }
    }

    private static void putMultipart(Driver.Opts o, AmazonS3 c, byte[] body) {
        InitiateMultipartUploadResult up = c.initiateMultipartUpload(
                new EncryptedInitiateMultipartUploadRequest(o.bucket, o.key));
        List<PartETag> tags = new ArrayList<>();
        int n = (int) Math.max(1, (body.length + o.partSize - 1) / o.partSize);
        for (int i = 0; i < n; i++) {
            int from = (int) Math.min(body.length, i * o.partSize);
            int to = (int) Math.min(body.length, from + o.partSize);
            UploadPartRequest req = new UploadPartRequest()
                    .withBucketName(o.bucket).withKey(o.key).withUploadId(up.getUploadId())
                    .withPartNumber(i + 1).withPartSize(to - from)
                    .withInputStream(new java.io.ByteArrayInputStream(body, from, to - from))
                    .withLastPart(i == n - 1);
            tags.add(c.uploadPart(req).getPartETag());
        }
        c.completeMultipartUpload(new CompleteMultipartUploadRequest(o.bucket, o.key, up.getUploadId(), tags));
    }

    @Override
    public void get(Driver.Opts o) throws Exception {
        AmazonS3 c = client(o);
        try {
            EncryptedGetObjectRequest req = new EncryptedGetObjectRequest(o.bucket, o.key);
            if (o.suffix != null) {
                req.withInstructionFileSuffix(o.suffix);
            }
            if (o.range != null) {
                long[] r = range(o.range);
                if (r[1] < 0) {
                    req.withRange(r[0]);
                } else {
                    req.withRange(r[0], r[1]);
                }
            }
            try (S3Object obj = c.getObject(req); InputStream in = obj.getObjectContent()) {
                Driver.output(o, in.readAllBytes());
            }
        } finally {
            c.shutdown();
        }
    }

    /** {@code bytes=A-B} or {@code bytes=A-}: (A, B or -1). */
    private static long[] range(String spec) throws Driver.Unsupported {
        String s = spec.startsWith("bytes=") ? spec.substring(6) : spec;
        int dash = s.indexOf('-');
        try {
            if (dash > 0) {
                long a = Long.parseLong(s.substring(0, dash));
                String b = s.substring(dash + 1);
                return new long[] {a, b.isEmpty() ? -1 : Long.parseLong(b)};
            }
        } catch (NumberFormatException e) {
            // falls through
        }
        throw new Driver.Unsupported("GetObjectRequest.withRange takes bytes=A-B or bytes=A- only, not " + spec);
    }
}
