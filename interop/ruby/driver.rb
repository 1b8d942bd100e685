#!/usr/bin/env ruby
# frozen_string_literal: true
#
# Interop peer driver: Ruby aws-sdk-s3 (Debian ruby-aws-sdk-s3 1.117.2 + ruby-aws-sdk-kms).
#
# Same command-line contract as the other peers (see interop/README.md):
#
#   driver.rb put --endpoint URL --bucket B --key K --in FILE  --mode MODE [options]
#   driver.rb get --endpoint URL --bucket B --key K --out FILE --mode MODE [options]
#   driver.rb modes
#
# Exit status: 0 ok; 1 the peer failed (its own error on stderr, verbatim, after
# "peer-error: "); 2 usage error; 3 the peer has no API for what was asked.
#
# Modes:
#   v2-aesgcm   Aws::S3::EncryptionV2::Client, encryption_key: AES key (--aes-key-b64),
#               key_wrap_schema :aes_gcm, content :aes_gcm_no_padding
#   v2-rsaoaep  EncryptionV2, encryption_key: RSA key (--rsa-private-pem), :rsa_oaep_sha1
#   v2-kmsctx   EncryptionV2, kms_key_id (--kms-key-id), :kms_context (--context)
#   v1-aesecb   Aws::S3::Encryption::Client (legacy V1), encryption_key: AES key
#               (AES/ECB wrap, x-amz-key; AES/CBC content)
#   v1-rsa      V1 client, encryption_key: RSA key (PKCS#1 v1.5 wrap; AES/CBC content)
#   v1-kms      V1 client, kms_key_id ("kms" wrap, context {"kms_cmk_id": id}; AES/CBC)
# get in a v2-* mode uses EncryptionV2 with security_profile :v2 (:v2_and_legacy with
# --legacy); get in a v1-* mode uses the legacy V1 client (which reads what it reads,
# has no caller encryption context, and so ignores --context).
# --matdesc (raw-key modes) is the materials_description; --instruction-file sets
# envelope_location: :instruction_file (put; get finds instruction files by itself).

require 'json'
require 'base64'
require 'optparse'
require 'openssl'

PEER = 'ruby'
EXIT_PEER = 1
EXIT_USAGE = 2
EXIT_UNSUPPORTED = 3

MODES = {
  'v2-aesgcm' => 'EncryptionV2, AES/GCM wrap of the data key, AES/GCM content',
  'v2-rsaoaep' => 'EncryptionV2, RSA-OAEP-SHA1 wrap, AES/GCM content',
  'v2-kmsctx' => 'EncryptionV2, kms+context wrap, AES/GCM content',
  'v1-aesecb' => 'legacy Encryption::Client, AES/ECB wrap (V1 x-amz-key), AES/CBC content',
  'v1-rsa' => 'legacy Encryption::Client, RSA PKCS#1 v1.5 wrap (V1 x-amz-key), AES/CBC content',
  'v1-kms' => 'legacy Encryption::Client, kms wrap (context {"kms_cmk_id"}), AES/CBC content'
}.freeze

class Unsupported < StandardError; end

def usage!(msg)
  $stderr.puts "usage: #{msg}"
  exit EXIT_USAGE
end

def parse(argv)
  cmd = argv.shift
  usage!('driver.rb put|get|modes [options]') unless %w[put get modes].include?(cmd)
  o = { region: ENV['AWS_REGION'] || 'us-east-1',
        endpoint: ENV['S3EC_MOTO_ENDPOINT'] || ENV['AWS_ENDPOINT_URL'],
        part_size: 5 * 1024 * 1024 }
  return [cmd, o] if cmd == 'modes'

  OptionParser.new do |p|
    p.on('--endpoint URL') { |v| o[:endpoint] = v }
    p.on('--region R') { |v| o[:region] = v }
    p.on('--bucket B') { |v| o[:bucket] = v }
    p.on('--key K') { |v| o[:key] = v }
    p.on('--mode M') { |v| o[:mode] = v }
    p.on('--kms-key-id ID') { |v| o[:kms_key_id] = v }
    p.on('--aes-key-b64 B64') { |v| o[:aes_key_b64] = v }
    p.on('--rsa-private-pem FILE') { |v| o[:rsa_private_pem] = v }
    p.on('--context JSON') { |v| o[:context] = v }
    p.on('--matdesc JSON') { |v| o[:matdesc] = v }
    p.on('--instruction-file') { o[:instruction_file] = true }
    p.on('--in FILE') { |v| o[:in] = v } if cmd == 'put'
    p.on('--multipart') { o[:multipart] = true } if cmd == 'put'
    p.on('--part-size N', Integer) { |v| o[:part_size] = v } if cmd == 'put'
    p.on('--out FILE') { |v| o[:out] = v } if cmd == 'get'
    p.on('--legacy') { o[:legacy] = true } if cmd == 'get'
  end.parse!(argv)
rescue OptionParser::ParseError => e
  usage!(e.message)
else
  usage!("unexpected arguments: #{argv.join(' ')}") unless argv.empty?
  %i[endpoint bucket key mode].each { |k| usage!("--#{k} is required") unless o[k] }
  usage!('--in is required') if cmd == 'put' && !o[:in]
  usage!('--out is required') if cmd == 'get' && !o[:out]
  unless MODES.key?(o[:mode])
    usage!("unknown mode #{o[:mode].inspect} for peer #{PEER}; modes: #{MODES.keys.join(', ')}")
  end
  [cmd, o]
end

def json_object(text, what)
  return nil if text.nil?

  v = JSON.parse(text)
  usage!("--#{what} must be a JSON object") unless v.is_a?(Hash)
  v
rescue JSON::ParserError => e
  usage!("--#{what} is not JSON: #{e.message}")
end

def aes_key(o)
  usage!("mode #{o[:mode]} needs --aes-key-b64") unless o[:aes_key_b64]
  Base64.strict_decode64(o[:aes_key_b64])
end

def rsa_key(o)
  usage!("mode #{o[:mode]} needs --rsa-private-pem") unless o[:rsa_private_pem]
  OpenSSL::PKey::RSA.new(File.read(o[:rsa_private_pem]))
end

def kms_key_id(o)
  usage!("mode #{o[:mode]} needs --kms-key-id") unless o[:kms_key_id]
  o[:kms_key_id]
end

# Build the encryption client for a mode. Returns [client, v2?].
def build_client(cmd, o)
  require 'aws-sdk-s3'
  require 'aws-sdk-kms'
  creds = Aws::Credentials.new(ENV['AWS_ACCESS_KEY_ID'] || 'testing',
                               ENV['AWS_SECRET_ACCESS_KEY'] || 'testing')
  common = { region: o[:region], endpoint: o[:endpoint], credentials: creds }
  s3 = Aws::S3::Client.new(**common, force_path_style: true)
  kms = Aws::KMS::Client.new(**common)
  mode = o[:mode]
  kms_mode = mode.end_with?('kms', 'kmsctx')
  if o[:matdesc] && kms_mode
    raise Unsupported, 'KMS modes take no material description in aws-sdk-s3 ' \
                       '(the kms cipher providers build x-amz-matdesc themselves; v2-kmsctx: use --context)'
  end
  if o[:context] && mode != 'v2-kmsctx' && cmd == 'put'
    raise Unsupported, "mode #{mode}: only EncryptionV2 kms_context takes an encryption context " \
                       '(:kms_encryption_context); the V1 kms provider always uses {"kms_cmk_id" => key id}'
  end
  if o[:multipart]
    raise Unsupported, 'aws-sdk-s3 encryption clients have no multipart upload ' \
                       '(Aws::S3::EncryptionV2::Client and Aws::S3::Encryption::Client offer put_object/get_object only)'
  end
  opts = { client: s3 }
  opts[:envelope_location] = :instruction_file if o[:instruction_file] && cmd == 'put'
  matdesc = o[:matdesc] && JSON.generate(json_object(o[:matdesc], 'matdesc'))
  case mode
  when 'v2-aesgcm', 'v2-rsaoaep', 'v2-kmsctx'
    opts[:content_encryption_schema] = :aes_gcm_no_padding
    opts[:security_profile] = o[:legacy] ? :v2_and_legacy : :v2
    case mode
    when 'v2-aesgcm'
      opts[:encryption_key] = aes_key(o)
      opts[:key_wrap_schema] = :aes_gcm
    when 'v2-rsaoaep'
      opts[:encryption_key] = rsa_key(o)
      opts[:key_wrap_schema] = :rsa_oaep_sha1
    else
      opts[:kms_key_id] = kms_key_id(o)
      opts[:kms_client] = kms
      opts[:key_wrap_schema] = :kms_context
    end
    opts[:materials_description] = matdesc if matdesc
    Aws::S3::EncryptionV2::Client.new(**opts)
  else
    case mode
    when 'v1-aesecb' then opts[:encryption_key] = aes_key(o)
    when 'v1-rsa' then opts[:encryption_key] = rsa_key(o)
    else
      opts[:kms_key_id] = kms_key_id(o)
      opts[:kms_client] = kms
    end
    opts[:materials_description] = matdesc if matdesc
    Aws::S3::Encryption::Client.new(**opts)
  end
end

def run(cmd, o)
  context = json_object(o[:context], 'context')
  client = build_client(cmd, o)
  if cmd == 'put'
    params = { bucket: o[:bucket], key: o[:key], body: File.binread(o[:in]) }
    params[:kms_encryption_context] = context if context
    client.put_object(**params)
  else
    params = { bucket: o[:bucket], key: o[:key] }
    # The legacy V1 client has no caller encryption context: a get in a v1-* mode
    # accepts --context and ignores it (as the Go peer does), like that client.
    params[:kms_encryption_context] = context if context && o[:mode] == 'v2-kmsctx'
    # Debian's aws-sdk-kms 1.24.0 predates KeyId on KMS Decrypt: with the default
    # (key id passed) every kms+context get fails with "ArgumentError: unexpected value
    # at params[:key_id]". Decrypt with the key the blob names instead.
    params[:kms_allow_decrypt_with_any_cmk] = true if o[:mode] == 'v2-kmsctx'
    resp = client.get_object(**params)
    data = resp.body.read
    File.binwrite(o[:out], data)
  end
end

cmd, o = parse(ARGV.dup)
if cmd == 'modes'
  v2 = MODES.keys.select { |m| m.start_with?('v2') }
  puts JSON.pretty_generate(peer: PEER, modes: MODES, put: MODES.keys, get: MODES.keys,
                            instruction_file_put: MODES.keys, instruction_file_get: MODES.keys,
                            multipart_put: [], legacy_get: v2,
                            get_checks_context: ['v2-kmsctx'])
  exit 0
end

# The SDK prints deprecation and security-profile notices with Kernel#warn; keep them
# off stderr (which carries only the peer's error) unless asked for. Kernel#warn is
# silent while $VERBOSE is nil.
$VERBOSE = nil unless ENV['S3EC_INTEROP_VERBOSE']

begin
  run(cmd, o)
rescue Unsupported => e
  $stderr.puts "unsupported: #{e.message}"
  exit EXIT_UNSUPPORTED
rescue StandardError, NotImplementedError => e
  $stderr.puts "peer-error: #{e.class}: #{e.message}"
  $stderr.puts e.backtrace.first(15).join("\n") if ENV['S3EC_INTEROP_TRACE']
  exit EXIT_PEER
end
exit 0
