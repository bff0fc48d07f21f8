/* The reply-code table. Facts (code, registry title, defining RFC) are
 * transcribed from RFC 5321, 4954, 3207, 1870, 3030, 6531, 7504, RFC 3463 and
 * the IANA "SMTP Enhanced Status Codes" registry; the explanations are ours.
 * Every string is an English gettext msgid: keep each on one line.
 *
 * Both tables are sorted (basic by code, enhanced by subject then detail) so
 * lookups can bisect; tests/unit/test_codes.c checks the order. */
#include "smtp/codes.h"

static const struct smtp_basic_code basic_codes[] = {
	{
		.code = 211,
		.name = "System status",
		.meaning = "A system status or help reply describing the state of the server.",
		.when = "In answer to HELP with an argument or to a status query; rare in practice.",
		.fix = "Nothing to fix: the reply is information.",
		.rfc = "RFC 5321",
		.esc = "2.0.0",
	},
	{
		.code = 214,
		.name = "Help message",
		.meaning = "Help text meant for a person reading the session.",
		.when = "In answer to HELP.",
		.fix = "Nothing to fix: read the text.",
		.rfc = "RFC 5321",
		.esc = "2.0.0",
	},
	{
		.code = 220,
		.name = "Service ready",
		.meaning = "The server is ready: either greeting a new connection or ready to start TLS after STARTTLS.",
		.when = "As the first line of every session (without an enhanced code), and in answer to STARTTLS just before the TLS handshake.",
		.fix = "Nothing to fix: after the greeting send EHLO; after STARTTLS start the TLS handshake, then send EHLO again.",
		.rfc = "RFC 5321, RFC 3207",
		.esc = "2.0.0",
	},
	{
		.code = 221,
		.name = "Service closing transmission channel",
		.meaning = "The server is closing the connection in an orderly way.",
		.when = "In answer to QUIT.",
		.fix = "Nothing to fix: the session is over, close your side too.",
		.rfc = "RFC 5321",
		.esc = "2.0.0",
	},
	{
		.code = 235,
		.name = "Authentication succeeded",
		.meaning = "The SASL exchange completed and the session is now authenticated.",
		.when = "As the last reply of an AUTH exchange that worked; SCRAM may carry its final server message here.",
		.fix = "Nothing to fix: go on with MAIL FROM.",
		.rfc = "RFC 4954",
		.esc = "2.7.0",
	},
	{
		.code = 250,
		.name = "Requested action completed",
		.meaning = "The command was accepted and carried out.",
		.when = "In answer to EHLO, HELO, MAIL, RCPT, RSET, NOOP, and to the end of DATA or BDAT once the message is safely stored.",
		.fix = "Nothing to fix: send the next command.",
		.rfc = "RFC 5321, RFC 3030",
		.esc = "2.0.0 2.1.0 2.1.5",
	},
	{
		.code = 251,
		.name = "User not local; will forward",
		.meaning = "The recipient is not local, but the server accepts the message and will forward it.",
		.when = "In answer to RCPT on a server that knows where the recipient has moved.",
		.fix = "Nothing to fix; update the address you hold to skip the extra hop.",
		.rfc = "RFC 5321",
		.esc = "2.1.5",
	},
	{
		.code = 252,
		.name = "Cannot verify user, will attempt delivery",
		.meaning = "The server will not say whether the mailbox exists, but will accept mail for it.",
		.when = "In answer to VRFY on servers that do not disclose mailboxes (postern always answers this way).",
		.fix = "Nothing to fix: send the message with MAIL, RCPT and DATA; VRFY will tell you no more.",
		.rfc = "RFC 5321",
		.esc = "2.0.0 2.1.5",
	},
	{
		.code = 334,
		.name = "Authentication challenge",
		.meaning = "A positive intermediate reply carrying the server's SASL challenge as base64, possibly empty.",
		.when = "During AUTH: the client decodes the challenge and answers it with exactly one base64 line.",
		.fix = "Nothing to fix: answer the challenge, or send \"*\" to cancel the exchange.",
		.rfc = "RFC 4954",
		.esc = "",
	},
	{
		.code = 354,
		.name = "Start mail input",
		.meaning = "A positive intermediate reply: the server is ready to receive the message content.",
		.when = "In answer to DATA once at least one recipient has been accepted.",
		.fix = "Nothing to fix: send the message, dot-stuffed, and end it with <CRLF>.<CRLF>.",
		.rfc = "RFC 5321",
		.esc = "",
	},
	{
		.code = 421,
		.name = "Service not available, closing transmission channel",
		.meaning = "The server is closing the connection for a reason it expects to be temporary.",
		.when = "At any point: shutdown, overload, too many connections, idle timeout, too many errors or failed logins in one session.",
		.fix = "Reconnect later; if it repeats, open fewer connections, answer faster, or fix the errors that ended the session.",
		.rfc = "RFC 5321",
		.esc = "4.3.2 4.4.2 4.7.0",
	},
	{
		.code = 432,
		.name = "Password transition needed",
		.meaning = "The user must authenticate once with a plaintext mechanism before the requested mechanism can work.",
		.when = "In answer to AUTH with a mechanism (such as SCRAM) whose stored keys do not exist yet for this user.",
		.fix = "Authenticate once with PLAIN over TLS so the server can derive the keys, then use the stronger mechanism.",
		.rfc = "RFC 4954",
		.esc = "4.7.12",
	},
	{
		.code = 450,
		.name = "Mailbox unavailable (temporary)",
		.meaning = "The action on the mailbox was not taken for a temporary reason, such as a busy or locked mailbox.",
		.when = "In answer to RCPT or at the end of DATA: greylisting, a locked mailbox, a temporary policy decision.",
		.fix = "Try again later; mail queues do this on their own.",
		.rfc = "RFC 5321",
		.esc = "4.2.0 4.2.1 4.7.1",
	},
	{
		.code = 451,
		.name = "Local error in processing",
		.meaning = "The server aborted the action because of a problem on its side.",
		.when = "In answer to a transaction command when storage, a lookup or another internal step failed.",
		.fix = "Try again later; if it persists, the server's operator needs to read its logs.",
		.rfc = "RFC 5321",
		.esc = "4.3.0 4.4.3",
	},
	{
		.code = 452,
		.name = "Insufficient system storage",
		.meaning = "The action was not taken because the server lacks storage or a temporary limit was reached.",
		.when = "MAIL with a SIZE above the free space, RCPT beyond the recipient limit (4.5.3), or the end of DATA when the disk filled up.",
		.fix = "Try again later; for too many recipients, send the remaining ones in another transaction.",
		.rfc = "RFC 5321, RFC 1870",
		.esc = "4.3.1 4.5.3 4.2.2",
	},
	{
		.code = 454,
		.name = "Temporary authentication or TLS failure",
		.meaning = "Authentication or TLS cannot be done right now for a temporary reason.",
		.when = "In answer to AUTH when the credential store is unreachable, or to STARTTLS when TLS is temporarily unavailable.",
		.fix = "Try again later; the operator should check the credential store or the TLS setup.",
		.rfc = "RFC 4954, RFC 3207",
		.esc = "4.7.0",
	},
	{
		.code = 455,
		.name = "Server unable to accommodate parameters",
		.meaning = "The MAIL or RCPT parameters are understood but cannot be honoured at the moment.",
		.when = "In answer to MAIL FROM or RCPT TO with ESMTP parameters the server knows but cannot satisfy right now.",
		.fix = "Try again later, or send the command without the parameter that cannot be met.",
		.rfc = "RFC 5321",
		.esc = "4.5.4",
	},
	{
		.code = 500,
		.name = "Syntax error, command unrecognised",
		.meaning = "The server could not make sense of the command line.",
		.when = "A typo, an unsupported verb, a line over 512 octets, a line not ended by CRLF, control characters; or an AUTH exchange line that is too long (5.5.6).",
		.fix = "Fix the command and send it again, ending every line with CRLF and staying within the length limit.",
		.rfc = "RFC 5321, RFC 4954",
		.esc = "5.5.2 5.5.6",
	},
	{
		.code = 501,
		.name = "Syntax error in parameters or arguments",
		.meaning = "The command was recognised but its arguments are malformed.",
		.when = "EHLO without a domain, MAIL FROM or RCPT TO with a broken address, STARTTLS with arguments, bad base64 in AUTH, or \"*\" cancelling AUTH (5.7.0).",
		.fix = "Correct the arguments (angle brackets around addresses, a valid domain, valid base64) and send the command again.",
		.rfc = "RFC 5321, RFC 4954",
		.esc = "5.5.4 5.5.2 5.1.3 5.1.7 5.7.0",
	},
	{
		.code = 502,
		.name = "Command not implemented",
		.meaning = "The server knows the command but does not implement it.",
		.when = "EXPN, TURN, or STARTTLS on a server without TLS configured.",
		.fix = "Do without the command, or use a server that offers it.",
		.rfc = "RFC 5321",
		.esc = "5.5.1",
	},
	{
		.code = 503,
		.name = "Bad sequence of commands",
		.meaning = "The command is valid but not allowed at this point of the session.",
		.when = "MAIL before EHLO, RCPT before MAIL, DATA without recipients, AUTH twice or inside a transaction, BDAT mixed with DATA.",
		.fix = "Send commands in the order SMTP requires: EHLO, then STARTTLS and AUTH if needed, then MAIL, RCPT, DATA.",
		.rfc = "RFC 5321, RFC 3030, RFC 4954",
		.esc = "5.5.1",
	},
	{
		.code = 504,
		.name = "Command parameter not implemented",
		.meaning = "A parameter of the command is well formed but not supported.",
		.when = "AUTH with a mechanism the server does not offer, or another unsupported command parameter.",
		.fix = "Use one of the mechanisms or options the server listed in its EHLO reply.",
		.rfc = "RFC 5321, RFC 4954",
		.esc = "5.5.4",
	},
	{
		.code = 521,
		.name = "Host does not accept mail",
		.meaning = "This host never accepts mail; retrying will not help.",
		.when = "Instead of the greeting on a host that receives no mail (it then closes), or in answer to a command.",
		.fix = "Check the domain's MX records and send to its real mail server.",
		.rfc = "RFC 7504",
		.esc = "5.3.2",
	},
	{
		.code = 530,
		.name = "Authentication required",
		.meaning = "The command is refused until the client has authenticated, or has started TLS.",
		.when = "MAIL on a submission port before AUTH, or a command refused until STARTTLS has been done.",
		.fix = "Run STARTTLS if required, then AUTH with valid credentials, then repeat the command.",
		.rfc = "RFC 4954, RFC 3207",
		.esc = "5.7.0",
	},
	{
		.code = 534,
		.name = "Authentication mechanism is too weak",
		.meaning = "Policy does not allow the chosen SASL mechanism for this user.",
		.when = "In answer to AUTH with a mechanism weaker than the server accepts.",
		.fix = "Choose a stronger mechanism from the AUTH line of the EHLO reply, such as SCRAM-SHA-256.",
		.rfc = "RFC 4954",
		.esc = "5.7.9",
	},
	{
		.code = 535,
		.name = "Authentication credentials invalid",
		.meaning = "Authentication failed: the user name, password or other credential is wrong.",
		.when = "As the last reply of a failed AUTH exchange; unknown users and wrong passwords get the same reply.",
		.fix = "Check the user name and password and try again; repeated failures may close the session.",
		.rfc = "RFC 4954",
		.esc = "5.7.8",
	},
	{
		.code = 538,
		.name = "Encryption required for requested authentication mechanism",
		.meaning = "The chosen mechanism may only be used over an encrypted connection.",
		.when = "AUTH PLAIN or AUTH LOGIN on a connection without TLS.",
		.fix = "Run STARTTLS (or use the implicit-TLS port) and authenticate again.",
		.rfc = "RFC 4954",
		.esc = "5.7.11",
	},
	{
		.code = 550,
		.name = "Mailbox unavailable",
		.meaning = "The action was refused because the mailbox cannot be used, or policy forbids it.",
		.when = "RCPT for an address that does not exist, a disabled mailbox, or mail refused by policy (spam, reputation, authentication checks).",
		.fix = "Check the address for typos; for a policy refusal read the text and reach the recipient another way.",
		.rfc = "RFC 5321",
		.esc = "5.1.1 5.2.1 5.7.1 5.1.10 5.7.27",
	},
	{
		.code = 551,
		.name = "User not local; please try forward path",
		.meaning = "The recipient is not here; the server names another address and will not forward the message itself.",
		.when = "In answer to RCPT for a user who has moved.",
		.fix = "Send to the address given in the reply text.",
		.rfc = "RFC 5321",
		.esc = "5.1.6",
	},
	{
		.code = 552,
		.name = "Exceeded storage allocation",
		.meaning = "The message was refused because it is larger than a size or storage limit.",
		.when = "MAIL with SIZE above the limit, or the end of DATA or BDAT when the message turned out too big; some servers also use it for a full mailbox.",
		.fix = "Send a smaller message (shrink attachments or send a link) or ask the recipient to free space.",
		.rfc = "RFC 5321, RFC 1870, RFC 3030",
		.esc = "5.3.4 5.2.2 5.2.3",
	},
	{
		.code = 553,
		.name = "Mailbox name not allowed",
		.meaning = "The action was refused because the mailbox name is not acceptable.",
		.when = "A malformed address, a sender the server will not accept, or a non-ASCII address sent without SMTPUTF8 (5.6.7).",
		.fix = "Correct the address; for international addresses use a server that offers SMTPUTF8 and give SMTPUTF8 on MAIL.",
		.rfc = "RFC 5321, RFC 6531",
		.esc = "5.1.3 5.1.7 5.6.7",
	},
	{
		.code = 554,
		.name = "Transaction failed",
		.meaning = "The transaction failed; the reply text says why.",
		.when = "DATA after every recipient was refused, a message refused at its end (content, bare line endings), relay access denied, or a greeting refusing the connection.",
		.fix = "Read the text: fix the content or the recipients, or authenticate before relaying.",
		.rfc = "RFC 5321, RFC 3030",
		.esc = "5.5.1 5.6.0 5.7.1 5.3.0",
	},
	{
		.code = 555,
		.name = "MAIL FROM/RCPT TO parameters not recognized or not implemented",
		.meaning = "A parameter on MAIL FROM or RCPT TO is unknown to the server or not supported.",
		.when = "MAIL or RCPT with an ESMTP parameter the server did not advertise.",
		.fix = "Send only the parameters the server listed in its EHLO reply.",
		.rfc = "RFC 5321",
		.esc = "5.5.4",
	},
	{
		.code = 556,
		.name = "Domain does not accept mail",
		.meaning = "The recipient's domain accepts no mail at all.",
		.when = "A relay reports that the recipient's domain publishes a null MX or otherwise refuses all mail.",
		.fix = "Check the address: this domain cannot receive mail, so reach the person another way.",
		.rfc = "RFC 7504",
		.esc = "5.1.10",
	},
};

#define ENH(s, d, n, m, b, r) \
	{ .subject = (s), .detail = (d), .name = (n), .meaning = (m), .basic = (b), .rfc = (r) }

static const struct smtp_enh_code enh_codes[] = {
	ENH(0, 0, "Other undefined Status",
	    "Only the class is known; the server gives no more specific reason.",
	    "250 221 451 554", "RFC 3463"),

	/* X.1: addressing */
	ENH(1, 0, "Other address status",
	    "Something about an address caused this reply, with no more precise reason.",
	    "250 451 550", "RFC 3463"),
	ENH(1, 1, "Bad destination mailbox address",
	    "The recipient's mailbox (the part before the @) does not exist.",
	    "550", "RFC 3463"),
	ENH(1, 2, "Bad destination system address",
	    "The recipient's domain (the part after the @) does not exist or cannot take mail.",
	    "550 554", "RFC 3463"),
	ENH(1, 3, "Bad destination mailbox address syntax",
	    "The recipient address is not syntactically valid.",
	    "501 553", "RFC 3463"),
	ENH(1, 4, "Destination mailbox address ambiguous",
	    "The recipient address matches more than one mailbox at the destination.",
	    "450 550 553", "RFC 3463"),
	ENH(1, 5, "Destination address valid",
	    "The recipient address is valid; seen in positive replies.",
	    "250 251 252", "RFC 3463"),
	ENH(1, 6, "Destination mailbox has moved, No forwarding address",
	    "The address used to be valid but no longer receives mail.",
	    "550 551", "RFC 3463"),
	ENH(1, 7, "Bad sender's mailbox address syntax",
	    "The sender address is not syntactically valid.",
	    "501 553", "RFC 3463"),
	ENH(1, 8, "Bad sender's system address",
	    "The sender's domain does not exist or cannot receive replies.",
	    "451 550 553", "RFC 3463"),
	ENH(1, 9, "Message relayed to non-compliant mailer",
	    "The address was valid, but the message was passed to a system that cannot report delivery status.",
	    "250", "RFC 3886"),
	ENH(1, 10, "Recipient address has null MX",
	    "The recipient's domain publishes a null MX, declaring that it accepts no mail.",
	    "550 556", "RFC 7505, RFC 7504"),

	/* X.2: mailbox */
	ENH(2, 0, "Other or undefined mailbox status",
	    "The mailbox exists, but something about it caused this reply.",
	    "450 550", "RFC 3463"),
	ENH(2, 1, "Mailbox disabled, not accepting messages",
	    "The mailbox exists but is not taking mail, for now or for good.",
	    "450 550", "RFC 3463"),
	ENH(2, 2, "Mailbox full",
	    "The mailbox is over its quota; its owner can make room.",
	    "452 552", "RFC 3463"),
	ENH(2, 3, "Message length exceeds administrative limit",
	    "The message is larger than this mailbox's own size limit.",
	    "552", "RFC 3463"),
	ENH(2, 4, "Mailing list expansion problem",
	    "The address is a mailing list that could not be expanded.",
	    "450 550", "RFC 3463"),

	/* X.3: mail system */
	ENH(3, 0, "Other or undefined mail system status",
	    "The destination normally accepts mail, but a problem on that system caused this reply.",
	    "451 554", "RFC 3463"),
	ENH(3, 1, "Mail system full",
	    "The receiving system has run out of storage.",
	    "452", "RFC 3463"),
	ENH(3, 2, "System not accepting network messages",
	    "The host is not taking mail, because of shutdown, overload or maintenance, or never.",
	    "421 521 554", "RFC 3463, RFC 7504"),
	ENH(3, 3, "System not capable of selected features",
	    "The message asks for features the destination system does not support.",
	    "550 554", "RFC 3463"),
	ENH(3, 4, "Message too big for system",
	    "The message is larger than the system-wide size limit.",
	    "552 554", "RFC 3463"),
	ENH(3, 5, "System incorrectly configured",
	    "The receiving system is set up in a way that prevents it from accepting this message.",
	    "451 554", "RFC 3463"),
	ENH(3, 6, "Requested priority was changed",
	    "The message was accepted, but not at the priority the sender asked for.",
	    "250", "RFC 6710"),

	/* X.4: network and routing */
	ENH(4, 0, "Other or undefined network or routing status",
	    "A network or routing problem with no more specific code.",
	    "451 554", "RFC 3463"),
	ENH(4, 1, "No answer from host",
	    "The next host did not answer the connection attempt.",
	    "451", "RFC 3463"),
	ENH(4, 2, "Bad connection",
	    "A connection was made but broke or timed out before the transaction finished.",
	    "421 451", "RFC 3463"),
	ENH(4, 3, "Directory server failure",
	    "A directory service such as DNS could not be reached to route the message.",
	    "451", "RFC 3463"),
	ENH(4, 4, "Unable to route",
	    "No route to the next hop was found, for example a domain with no usable MX or address.",
	    "451 550 554", "RFC 3463"),
	ENH(4, 5, "Mail system congestion",
	    "The mail system is congested and cannot take the message now.",
	    "421 451", "RFC 3463"),
	ENH(4, 6, "Routing loop detected",
	    "The message was forwarded too many times, usually because of a loop.",
	    "554", "RFC 3463"),
	ENH(4, 7, "Delivery time expired",
	    "The message waited too long or outlived the lifetime the sender allowed.",
	    "451 554", "RFC 3463"),

	/* X.5: mail delivery protocol */
	ENH(5, 0, "Other or undefined protocol status",
	    "A protocol problem with no more specific code.",
	    "500 554", "RFC 3463"),
	ENH(5, 1, "Invalid command",
	    "The command was sent out of sequence or is not supported.",
	    "502 503 554", "RFC 3463"),
	ENH(5, 2, "Syntax error",
	    "The command could not be parsed, or its verb is unknown.",
	    "500 501", "RFC 3463"),
	ENH(5, 3, "Too many recipients",
	    "More recipients were given than the server takes in one transaction.",
	    "452", "RFC 3463"),
	ENH(5, 4, "Invalid command arguments",
	    "The command is valid, but its arguments are out of range or name unknown features.",
	    "455 501 504 555", "RFC 3463"),
	ENH(5, 5, "Wrong protocol version",
	    "The two sides could not agree on a protocol version.",
	    "554", "RFC 3463"),
	ENH(5, 6, "Authentication Exchange line is too long",
	    "A line of the AUTH exchange was longer than the server accepts.",
	    "500", "RFC 4954"),

	/* X.6: message content or media */
	ENH(6, 0, "Other or undefined media error",
	    "Something in the message content made it undeliverable.",
	    "554", "RFC 3463"),
	ENH(6, 1, "Media not supported",
	    "The message's media type or encoding is not supported along the delivery path.",
	    "554", "RFC 3463"),
	ENH(6, 2, "Conversion required and prohibited",
	    "The content would have to be converted, but conversion is forbidden.",
	    "554", "RFC 3463"),
	ENH(6, 3, "Conversion required but not supported",
	    "The content must be converted (for example from 8-bit to 7-bit) but no host on the path can do it.",
	    "554", "RFC 3463"),
	ENH(6, 4, "Conversion with loss performed",
	    "The message was delivered, but a conversion lost part of its content.",
	    "250 554", "RFC 3463"),
	ENH(6, 5, "Conversion Failed",
	    "A required conversion was attempted and did not succeed.",
	    "451 554", "RFC 3463"),
	ENH(6, 6, "Message content not available",
	    "Content the message refers to (for example through BURL) could not be fetched.",
	    "454 554", "RFC 4468"),
	ENH(6, 7, "Non-ASCII addresses not permitted for that sender/recipient",
	    "An address contains non-ASCII characters, which this session or server does not allow.",
	    "550 553", "RFC 6531"),
	ENH(6, 8, "UTF-8 string reply is required, but not permitted by the SMTP client",
	    "Showing the mailbox name would need UTF-8, but the client did not enable SMTPUTF8.",
	    "252 550 553", "RFC 6531"),
	ENH(6, 9, "UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected",
	    "The message has UTF-8 headers and cannot be passed on to some recipients, so it is refused.",
	    "550 554", "RFC 6531"),
	/* The registry gives X.6.10 no title: it was a duplicate of X.6.8. */
	ENH(6, 10, "Duplicate of X.6.8 (deprecated)",
	    "Registered by mistake as a copy of X.6.8; senders should use X.6.8 instead.",
	    "252 550 553", "RFC 6531"),

	/* X.7: security or policy */
	ENH(7, 0, "Other or undefined security status",
	    "A security or policy problem with no more specific code, or one the server will not detail.",
	    "235 421 454 501 530 554", "RFC 3463"),
	ENH(7, 1, "Delivery not authorized, message refused",
	    "The sender is not allowed to send to this recipient, because of filtering or policy.",
	    "450 550 554", "RFC 3463"),
	ENH(7, 2, "Mailing list expansion prohibited",
	    "The sender is not allowed to send to this mailing list.",
	    "550", "RFC 3463"),
	ENH(7, 3, "Security conversion required but not possible",
	    "Delivery needs a conversion between secure-mail formats that cannot be done.",
	    "554", "RFC 3463"),
	ENH(7, 4, "Security features not supported",
	    "The message relies on security features the delivery path cannot provide.",
	    "530 554", "RFC 3463"),
	ENH(7, 5, "Cryptographic failure",
	    "A host entitled to verify or decrypt the message could not, for lack of a valid key.",
	    "454 554", "RFC 3463"),
	ENH(7, 6, "Cryptographic algorithm not supported",
	    "A host could not verify or decrypt the message because it lacks the algorithm.",
	    "554", "RFC 3463"),
	ENH(7, 7, "Message integrity failure",
	    "A host checking the message found it corrupted or altered.",
	    "554", "RFC 3463"),
	ENH(7, 8, "Authentication credentials invalid",
	    "AUTH failed because the credentials are wrong or not sufficient.",
	    "535", "RFC 4954"),
	ENH(7, 9, "Authentication mechanism is too weak",
	    "The chosen SASL mechanism is weaker than policy allows for this user.",
	    "534", "RFC 4954"),
	ENH(7, 10, "Encryption Needed",
	    "A privacy layer such as TLS must be active before this mechanism can be used.",
	    "530 538", "RFC 5248"),
	ENH(7, 11, "Encryption required for requested authentication mechanism",
	    "The chosen mechanism may only be used once the connection is encrypted.",
	    "538", "RFC 4954"),
	ENH(7, 12, "A password transition is needed",
	    "The user must log in once with a plaintext mechanism before the chosen one will work.",
	    "432", "RFC 4954"),
	ENH(7, 13, "User Account Disabled",
	    "The credentials were right, but the administrator has disabled the account.",
	    "535 550 554", "RFC 5248"),
	ENH(7, 14, "Trust relationship required",
	    "The submission server needs a configured trust relationship with another server to fetch the content.",
	    "535 554", "RFC 5248"),
	ENH(7, 15, "Priority Level is too low",
	    "The requested priority is below what the server currently accepts.",
	    "450 550", "RFC 6710"),
	ENH(7, 16, "Message is too big for the specified priority",
	    "The message is larger than the server accepts at the requested priority.",
	    "452 552", "RFC 6710"),
	ENH(7, 17, "Mailbox owner has changed",
	    "The mailbox has changed owner since the date the sender gave (RRVS).",
	    "550", "RFC 7293"),
	ENH(7, 18, "Domain owner has changed",
	    "The recipient's domain has changed owner since the date the sender gave (RRVS).",
	    "550", "RFC 7293"),
	ENH(7, 19, "RRVS test cannot be completed",
	    "The receiver cannot compare mailbox ownership with the date given because it kept no record.",
	    "550", "RFC 7293"),
	ENH(7, 20, "No passing DKIM signature found",
	    "Local policy wants a valid DKIM signature and the message has none.",
	    "550", "RFC 7372"),
	ENH(7, 21, "No acceptable DKIM signature found",
	    "The message has valid DKIM signatures, but none from a signer local policy accepts.",
	    "550", "RFC 7372"),
	ENH(7, 22, "No valid author-matched DKIM signature found",
	    "No valid DKIM signature belongs to the domain of the From address.",
	    "550", "RFC 7372"),
	ENH(7, 23, "SPF validation failed",
	    "The sending host is not authorised by the sender domain's SPF record.",
	    "550", "RFC 7372, RFC 7208"),
	ENH(7, 24, "SPF validation error",
	    "The SPF check could not be completed because of an error, such as a broken record or DNS failure.",
	    "451 550", "RFC 7372, RFC 7208"),
	ENH(7, 25, "Reverse DNS validation failed",
	    "The client's IP address failed the reverse DNS check local policy requires.",
	    "550", "RFC 7372"),
	ENH(7, 26, "Multiple authentication checks failed",
	    "The message failed more than one authentication check (DKIM, SPF, reverse DNS and the like).",
	    "550", "RFC 7372"),
	ENH(7, 27, "Sender address has null MX",
	    "The sender's domain publishes a null MX, so bounces could not be returned to it.",
	    "550", "RFC 7505"),
	/* Registered from draft-levine-mailbomb-header, which never became an RFC. */
	ENH(7, 28, "Mail flood detected",
	    "The message looks like part of a flood of similar unwanted messages.",
	    "421 450 550", "IANA registry (draft-levine-mailbomb-header)"),
	ENH(7, 29, "ARC validation failure",
	    "The message's ARC chain of custody did not validate.",
	    "550", "RFC 8617"),
	ENH(7, 30, "REQUIRETLS support required",
	    "The message demands TLS on every hop (REQUIRETLS) and the next hop cannot promise it.",
	    "550", "RFC 8689"),
};

#undef ENH

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *smtp_code_class_name(int digit)
{
	switch (digit) {
	case 2: return "Positive completion";
	case 3: return "Positive intermediate";
	case 4: return "Transient negative completion";
	case 5: return "Permanent negative completion";
	default: return NULL;
	}
}

const char *smtp_code_category_name(int digit)
{
	/* RFC 5321 4.2.1: x3z and x4z are unspecified. */
	switch (digit) {
	case 0: return "Syntax";
	case 1: return "Information";
	case 2: return "Connections";
	case 3: return "Unspecified";
	case 4: return "Unspecified";
	case 5: return "Mail system";
	default: return NULL;
	}
}

const char *smtp_enh_class_name(int cls)
{
	/* RFC 3463 2: there is no class 3. */
	switch (cls) {
	case 2: return "Success";
	case 4: return "Persistent transient failure";
	case 5: return "Permanent failure";
	default: return NULL;
	}
}

const char *smtp_enh_subject_name(int subject)
{
	switch (subject) {
	case 0: return "Other or undefined status";
	case 1: return "Addressing status";
	case 2: return "Mailbox status";
	case 3: return "Mail system status";
	case 4: return "Network and routing status";
	case 5: return "Mail delivery protocol status";
	case 6: return "Message content or media status";
	case 7: return "Security or policy status";
	default: return NULL;
	}
}

const struct smtp_basic_code *smtp_code_basic(int code)
{
	size_t lo = 0, hi = ARRAY_LEN(basic_codes);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = basic_codes[mid].code;

		if (c == code)
			return &basic_codes[mid];
		if (c < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int enh_cmp(const struct smtp_enh_code *e, int subject, int detail)
{
	if (e->subject != subject)
		return e->subject < subject ? -1 : 1;
	if (e->detail != detail)
		return e->detail < detail ? -1 : 1;
	return 0;
}

const struct smtp_enh_code *smtp_code_enhanced(int subject, int detail)
{
	size_t lo = 0, hi = ARRAY_LEN(enh_codes);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = enh_cmp(&enh_codes[mid], subject, detail);

		if (c == 0)
			return &enh_codes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t smtp_code_basic_count(void)
{
	return ARRAY_LEN(basic_codes);
}

const struct smtp_basic_code *smtp_code_basic_at(size_t i)
{
	return i < ARRAY_LEN(basic_codes) ? &basic_codes[i] : NULL;
}

size_t smtp_code_enhanced_count(void)
{
	return ARRAY_LEN(enh_codes);
}

const struct smtp_enh_code *smtp_code_enhanced_at(size_t i)
{
	return i < ARRAY_LEN(enh_codes) ? &enh_codes[i] : NULL;
}
