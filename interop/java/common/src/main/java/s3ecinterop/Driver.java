package s3ecinterop;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.LogManager;

/**
 * The driver contract shared by the Java peers (interop/README.md):
 * {@code put|get|modes [options]}, exit 0 ok, 1 the peer's own error
 * ({@code peer-error: } + the exception's {@code toString()} and its causes),
 * 2 usage, 3 no API. {@code serve SOCKET} keeps one JVM that runs many
 * put/get calls, one per connection on a UNIX socket (interop/java/call.py is
 * the client): the request is the arguments, NUL-separated; the answer is the
 * exit code on the first line, then what the call wrote to stderr.
 */
public final class Driver {
    private Driver() {}

    /** A peer: its modes and its put/get. */
    public interface Peer {
        /** The peer's name (java3, java4, java-v1). */
        String name();

        /** Mode name to description. */
        Map<String, String> modes();

        /** Extra keys of the {@code modes} JSON (lists of mode names). */
        Map<String, List<String>> capabilities();

        /** Put {@code o.in} under {@code o.key}. */
        void put(Opts o) throws Exception;

        /** Get {@code o.key} into {@code o.out} (written only once all of it was returned). */
        void get(Opts o) throws Exception;
    }

    /** Exit 2. */
    public static final class UsageError extends Exception {
        public UsageError(String msg) {
            super(msg);
        }
    }

    /** Exit 3: the peer has no API for it. */
    public static final class Unsupported extends Exception {
        public Unsupported(String msg) {
            super(msg);
        }
    }

    /** The parsed options of one call. */
    public static final class Opts {
        public String cmd;
        public String endpoint;
        public String region = "us-east-1";
        public String bucket;
        public String key;
        public String mode;
        public String kmsKeyId;
        public byte[] aesKey;
        public Path rsaPem;
        public Map<String, String> context;
        public Map<String, String> matdesc;
        public Path in;
        public Path out;
        public boolean instructionFile;
        public boolean multipart;
        public boolean lowLevel;
        public long partSize = 5L << 20;
        public boolean legacy;
        public boolean delayedAuth;
        public String range;
        public String suffix;
        public byte[] rotateAesKey;
        public Path rotateRsaPem;
        public String accessKey = "testing";
        public String secretKey = "testing";

        /** The key-kind suffix a mode must end with ("kms", "aes", "rsa"). */
        public String keyKind() {
            if (aesKey != null) {
                return "aes";
            }
            if (rsaPem != null) {
                return "rsa";
            }
            return "kms";
        }
    }

    static Opts parse(String[] args, Map<String, String> env) throws UsageError {
        Opts o = new Opts();
        if (args.length == 0) {
            throw new UsageError("put|get|modes [options]");
        }
        o.cmd = args[0];
        if (!o.cmd.equals("put") && !o.cmd.equals("get") && !o.cmd.equals("modes")) {
            throw new UsageError("put|get|modes [options]");
        }
        o.endpoint = env.getOrDefault("S3EC_MOTO_ENDPOINT", env.get("AWS_ENDPOINT_URL"));
        o.accessKey = env.getOrDefault("AWS_ACCESS_KEY_ID", "testing");
        o.secretKey = env.getOrDefault("AWS_SECRET_ACCESS_KEY", "testing");
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--instruction-file": o.instructionFile = true; continue;
                case "--multipart": o.multipart = true; continue;
                case "--low-level": o.lowLevel = true; continue;
                case "--legacy": o.legacy = true; continue;
                case "--delayed-auth": o.delayedAuth = true; continue;
                default: break;
            }
            if (i + 1 >= args.length) {
                throw new UsageError(a + " needs a value (or is unknown)");
            }
            String v = args[++i];
            switch (a) {
                case "--endpoint": o.endpoint = v; break;
                case "--region": o.region = v; break;
                case "--bucket": o.bucket = v; break;
                case "--key": o.key = v; break;
                case "--mode": o.mode = v; break;
                case "--kms-key-id": o.kmsKeyId = v; break;
                case "--aes-key-b64":
                    try {
                        o.aesKey = Base64.getDecoder().decode(v);
                    } catch (IllegalArgumentException e) {
                        throw new UsageError("--aes-key-b64: " + e.getMessage());
                    }
                    break;
                case "--rsa-private-pem": o.rsaPem = Path.of(v); break;
                case "--context": o.context = Json.object(v, "--context"); break;
                case "--matdesc": o.matdesc = Json.object(v, "--matdesc"); break;
                case "--in": o.in = Path.of(v); break;
                case "--out": o.out = Path.of(v); break;
                case "--part-size":
                    try {
                        o.partSize = Long.parseLong(v);
                    } catch (NumberFormatException e) {
                        throw new UsageError("--part-size " + v + ": not a number");
                    }
                    break;
                case "--range": o.range = v; break;
                case "--rotate-rsa-pem": o.rotateRsaPem = Path.of(v); break;
                case "--rotate-aes-key-b64":
                    try {
                        o.rotateAesKey = Base64.getDecoder().decode(v);
                    } catch (IllegalArgumentException e) {
                        throw new UsageError("--rotate-aes-key-b64: " + e.getMessage());
                    }
                    break;
                case "--instruction-suffix": o.suffix = v; break;
                default: throw new UsageError("unknown option " + a);
            }
        }
        if (o.cmd.equals("modes")) {
            return o;
        }
        String[][] required = {{"endpoint", o.endpoint}, {"bucket", o.bucket}, {"key", o.key}, {"mode", o.mode}};
        for (String[] r : required) {
            if (r[1] == null || r[1].isEmpty()) {
                throw new UsageError("--" + r[0] + " is required");
            }
        }
        if (o.cmd.equals("put") && o.in == null) {
            throw new UsageError("--in is required");
        }
        if (o.cmd.equals("get") && o.out == null) {
            throw new UsageError("--out is required");
        }
        return o;
    }

    /** Run one call; returns the exit code, messages go to {@code err}. */
    static int call(Peer peer, String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        try {
            Opts o = parse(args, env);
            if (o.cmd.equals("modes")) {
                out.println(modesJson(peer));
                return 0;
            }
            if (!peer.modes().containsKey(o.mode)) {
                throw new UsageError("unknown mode \"" + o.mode + "\" for peer " + peer.name() + "; modes: "
                        + String.join(", ", peer.modes().keySet()));
            }
            if (o.cmd.equals("put")) {
                peer.put(o);
            } else {
                peer.get(o);
            }
            return 0;
        } catch (UsageError e) {
            err.println("usage: " + e.getMessage());
            return 2;
        } catch (Unsupported e) {
            err.println("unsupported: " + e.getMessage());
            return 3;
        } catch (Throwable e) {
            StringBuilder sb = new StringBuilder("peer-error: ").append(e);
            for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                sb.append("\ncaused by: ").append(c);
            }
            err.println(sb);
            if (env.containsKey("S3EC_INTEROP_TRACE")) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    static String modesJson(Peer peer) {
        StringBuilder sb = new StringBuilder("{\"peer\": ").append(Json.quote(peer.name())).append(", \"modes\": {");
        String sep = "";
        for (Map.Entry<String, String> m : peer.modes().entrySet()) {
            sb.append(sep).append(Json.quote(m.getKey())).append(": ").append(Json.quote(m.getValue()));
            sep = ", ";
        }
        sb.append("}");
        for (Map.Entry<String, List<String>> c : peer.capabilities().entrySet()) {
            sb.append(", ").append(Json.quote(c.getKey())).append(": [");
            sep = "";
            for (String s : c.getValue()) {
                sb.append(sep).append(Json.quote(s));
                sep = ", ";
            }
            sb.append("]");
        }
        return sb.append("}").toString();
    }

    /** The entry point of every Java peer. */
    public static void main(Peer peer, String[] args) {
        // The SDKs log through java.util.logging / commons-logging to stderr; the
        // contract wants stderr to be the peer's error only.
        if (System.getenv("S3EC_INTEROP_VERBOSE") == null) {
            LogManager.getLogManager().reset();
        }
        if (args.length == 2 && args[0].equals("serve")) {
            try {
                serve(peer, Path.of(args[1]));
            } catch (IOException e) {
                System.err.println("serve: " + e);
                System.exit(1);
            }
            return;
        }
        int code = call(peer, args, System.getenv(), System.out, System.err);
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    static void serve(Peer peer, Path socket) throws IOException {
        Files.deleteIfExists(socket);
        Path tmp = socket.resolveSibling(socket.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(tmp));
        // Appears under its final name only once it accepts connections.
        Files.move(tmp, socket);
        Map<String, String> env = System.getenv();
        while (true) {
            SocketChannel ch = server.accept();
            Thread t = new Thread(() -> handle(peer, ch, env));
            t.setDaemon(true);
            t.start();
        }
    }

    static void handle(Peer peer, SocketChannel ch, Map<String, String> env) {
        try (ch) {
            InputStream in = Channels.newInputStream(ch);
            byte[] req = in.readAllBytes();
            List<String> args = new ArrayList<>();
            int start = 0;
            for (int i = 0; i <= req.length; i++) {
                if (i == req.length || req[i] == 0) {
                    if (i > start || i < req.length) {
                        args.add(new String(req, start, i - start, StandardCharsets.UTF_8));
                    }
                    start = i + 1;
                }
            }
            ByteArrayOutputStream errBuf = new ByteArrayOutputStream();
            ByteArrayOutputStream outBuf = new ByteArrayOutputStream();
            int code;
            try (PrintStream err = new PrintStream(errBuf, true, StandardCharsets.UTF_8);
                 PrintStream out = new PrintStream(outBuf, true, StandardCharsets.UTF_8)) {
                code = call(peer, args.toArray(new String[0]), env, out, err);
            }
            OutputStream os = Channels.newOutputStream(ch);
            os.write((code + "\n").getBytes(StandardCharsets.UTF_8));
            os.write(errBuf.toByteArray());
            os.flush();
        } catch (IOException e) {
            System.err.println("serve: " + e);
        }
    }

    /** The bytes of {@code --in}. */
    public static byte[] input(Opts o) throws UsageError {
        try {
            return Files.readAllBytes(o.in);
        } catch (IOException e) {
            throw new UsageError("--in " + o.in + ": " + e);
        }
    }

    /** Write the plaintext to {@code --out}. */
    public static void output(Opts o, byte[] data) throws IOException {
        Files.write(o.out, data);
    }

    /** The RSA key pair of {@code --rsa-private-pem} (PKCS#1 or PKCS#8 PEM). */
    public static KeyPair rsaKeyPair(Opts o) throws Exception {
        return rsaKeyPair(o.rsaPem);
    }

    /** The RSA key pair of a PEM file (PKCS#1 or PKCS#8). */
    public static KeyPair rsaKeyPair(Path file) throws Exception {
        String pem = Files.readString(file);
        boolean pkcs1 = pem.contains("BEGIN RSA PRIVATE KEY");
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(b64);
        if (pkcs1) {
            der = pkcs1ToPkcs8(der);
        }
        KeyFactory kf = KeyFactory.getInstance("RSA");
        RSAPrivateCrtKey priv = (RSAPrivateCrtKey) kf.generatePrivate(new PKCS8EncodedKeySpec(der));
        return new KeyPair(kf.generatePublic(new RSAPublicKeySpec(priv.getModulus(), priv.getPublicExponent())), priv);
    }

    /** PrivateKeyInfo { version 0, rsaEncryption, OCTET STRING pkcs1 }. */
    static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algId = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octet = der(0x04, pkcs1);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(version);
        body.writeBytes(algId);
        body.writeBytes(octet);
        return der(0x30, body.toByteArray());
    }

    static byte[] der(int tag, byte[] content) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(tag);
        int n = content.length;
        if (n < 0x80) {
            o.write(n);
        } else {
            byte[] len = BigInteger.valueOf(n).toByteArray();
            int off = len[0] == 0 ? 1 : 0;
            o.write(0x80 | (len.length - off));
            o.write(len, off, len.length - off);
        }
        o.writeBytes(content);
        return o.toByteArray();
    }

    /** A map in insertion order. */
    public static Map<String, List<String>> caps() {
        return new LinkedHashMap<>();
    }
}
