package s3ecinterop;

import java.util.LinkedHashMap;
import java.util.Map;

/** The little JSON the drivers need: an object of strings, and quoting. */
final class Json {
    private Json() {}

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"').toString();
    }

    /** Parse {@code {"k": "v", ...}}. */
    static Map<String, String> object(String text, String what) throws Driver.UsageError {
        P p = new P(text, what);
        Map<String, String> m = new LinkedHashMap<>();
        p.ws();
        p.expect('{');
        p.ws();
        if (p.peek() == '}') {
            p.i++;
        } else {
            while (true) {
                p.ws();
                String k = p.string();
                p.ws();
                p.expect(':');
                p.ws();
                m.put(k, p.string());
                p.ws();
                char c = p.next();
                if (c == '}') {
                    break;
                }
                if (c != ',') {
                    throw p.error("expected , or }");
                }
            }
        }
        p.ws();
        if (p.i != text.length()) {
            throw p.error("trailing characters");
        }
        return m;
    }

    private static final class P {
        final String s;
        final String what;
        int i;

        P(String s, String what) {
            this.s = s;
            this.what = what;
        }

        Driver.UsageError error(String msg) {
            return new Driver.UsageError(what + " must be a JSON object of strings: " + msg + " at " + i);
        }

        char peek() throws Driver.UsageError {
            if (i >= s.length()) {
                throw error("unexpected end");
            }
            return s.charAt(i);
        }

        char next() throws Driver.UsageError {
            char c = peek();
            i++;
            return c;
        }

        void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        void expect(char c) throws Driver.UsageError {
            if (next() != c) {
                throw error("expected " + c);
            }
        }

        String string() throws Driver.UsageError {
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                char c = next();
                if (c == '"') {
                    return sb.toString();
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = next();
                switch (e) {
                    case '"': case '\\': case '/': sb.append(e); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'n': sb.append('\n'); break;
                    case 'r': sb.append('\r'); break;
                    case 't': sb.append('\t'); break;
                    case 'u':
                        if (i + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        try {
                            sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("bad \\u escape");
                        }
                        i += 4;
                        break;
                    default: throw error("bad escape");
                }
            }
        }
    }
}
