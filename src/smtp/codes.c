/* The reply-code table. Facts (code, registry title, defining RFC) are
 * transcribed from RFC 5321, 4954, 3207, 1870, 3030, 6531, 7504, RFC 3463 and
 * the IANA "SMTP Enhanced Status Codes" registry; the explanations are ours.
 * Every string is an English gettext msgid: keep each on one line.
 *
 * Both tables are sorted (basic by code, enhanced by subject then detail) so
 * lookups can bisect; tests/unit/test_codes.c checks the order. */
#include "smtp/codes.h"

#include <string.h>

static const struct smtp_basic_code basic_codes[] = {
	{
		.code = 211,
		.name = "System status",
		.meaning = "A system status or help reply describing the state of the server.",
		.when = "In answer to HELP with an argument or to a status query; rare in practice.",
		.fix = "Nothing to fix: the reply is information.",
		.rfc = "RFC 5321",
	},
	{
		.code = 214,
		.name = "Help message",
		.meaning = "Help text meant for a person reading the session.",
		.when = "In answer to HELP.",
		.fix = "Nothing to fix: read the text.",
		.rfc = "RFC 5321",
	},
	{
		.code = 220,
		.name = "Service ready",
		.meaning = "The server is ready: either greeting a new connection or ready to start TLS after STARTTLS.",
		.when = "As the first line of every session (without an enhanced code), and in answer to STARTTLS just before the TLS handshake.",
		.fix = "Nothing to fix: after the greeting send EHLO; after STARTTLS start the TLS handshake, then send EHLO again.",
		.rfc = "RFC 5321, RFC 3207",
	},
	{
		.code = 221,
		.name = "Service closing transmission channel",
		.meaning = "The server is closing the connection in an orderly way.",
		.when = "In answer to QUIT.",
		.fix = "Nothing to fix: the session is over, close your side too.",
		.rfc = "RFC 5321",
	},
	{
		.code = 235,
		.name = "Authentication succeeded",
		.meaning = "The SASL exchange completed and the session is now authenticated.",
		.when = "As the last reply of an AUTH exchange that worked; SCRAM may carry its final server message here.",
		.fix = "Nothing to fix: go on with MAIL FROM.",
		.rfc = "RFC 4954",
	},
	{
		.code = 250,
		.name = "Requested action completed",
		.meaning = "The command was accepted and carried out.",
		.when = "In answer to EHLO, HELO, MAIL, RCPT, RSET, NOOP, and to the end of DATA or BDAT once the message is safely stored.",
		.fix = "Nothing to fix: send the next command.",
		.rfc = "RFC 5321, RFC 3030",
	},
	{
		.code = 251,
		.name = "User not local; will forward",
		.meaning = "The recipient is not local, but the server accepts the message and will forward it.",
		.when = "In answer to RCPT on a server that knows where the recipient has moved.",
		.fix = "Nothing to fix; update the address you hold to skip the extra hop.",
		.rfc = "RFC 5321",
	},
	{
		.code = 252,
		.name = "Cannot verify user, will attempt delivery",
		.meaning = "The server will not say whether the mailbox exists, but will accept mail for it.",
		.when = "In answer to VRFY on servers that do not disclose mailboxes (postern always answers this way).",
		.fix = "Nothing to fix: send the message with MAIL, RCPT and DATA; VRFY will tell you no more.",
		.rfc = "RFC 5321",
	},	{
		.code = 253,
		.name = "Pending messages for node started",
		.meaning = "The server accepted ETRN and has started delivering the mail it holds for the named node.",
		.when = "In answer to ETRN (RFC 1985) from a host that collects its queued mail from a backup MX; the text gives the number of pending messages.",
		.fix = "Nothing to fix: keep accepting connections, the held mail is on its way.",
		.rfc = "RFC 1985",
	},

	{
		.code = 334,
		.name = "Authentication challenge",
		.meaning = "A positive intermediate reply carrying the server's SASL challenge as base64, possibly empty.",
		.when = "During AUTH: the server sends a base64 challenge and the client answers with one base64 line; AUTH LOGIN asks with two fixed prompts, VXNlcm5hbWU6 (\"Username:\") and UGFzc3dvcmQ6 (\"Password:\").",
		.fix = "Nothing to fix: answer with one base64 line (for AUTH LOGIN the user name, then the password), or send \"*\" to cancel; if authentication keeps failing, check your credentials and the SASL mechanism.",
		.rfc = "RFC 4954",
	},
	{
		.code = 354,
		.name = "Start mail input",
		.meaning = "A positive intermediate reply: the server is ready to receive the message content.",
		.when = "In answer to DATA once at least one recipient has been accepted.",
		.fix = "Nothing to fix: send the message, dot-stuffed, and end it with <CRLF>.<CRLF>.",
		.rfc = "RFC 5321",
	},
	{
		.code = 421,
		.name = "Service not available, closing transmission channel",
		.meaning = "The server is closing the connection for a reason it expects to be temporary.",
		.when = "At any point: shutdown, overload, too many connections, idle timeout, too many errors or failed logins in one session.",
		.fix = "Reconnect later; if it repeats, open fewer connections, answer faster, or fix the errors that ended the session.",
		.rfc = "RFC 5321",
	},
	{
		.code = 432,
		.name = "Password transition needed",
		.meaning = "The user must authenticate once with a plaintext mechanism before the requested mechanism can work.",
		.when = "In answer to AUTH with a mechanism (such as SCRAM) whose stored keys do not exist yet for this user.",
		.fix = "Authenticate once with PLAIN over TLS so the server can derive the keys, then use the stronger mechanism.",
		.rfc = "RFC 4954",
	},
	{
		.code = 450,
		.name = "Mailbox unavailable (temporary)",
		.meaning = "The action on the mailbox was not taken for a temporary reason, such as a busy or locked mailbox.",
		.when = "In answer to RCPT or at the end of DATA: greylisting, a locked mailbox, a temporary policy decision.",
		.fix = "Try again later; mail queues do this on their own.",
		.rfc = "RFC 5321",
	},
	{
		.code = 451,
		.name = "Local error in processing",
		.meaning = "The server aborted the action because of a problem on its side.",
		.when = "In answer to a transaction command when storage, a lookup or another internal step failed.",
		.fix = "Try again later; if it persists, the server's operator needs to read its logs.",
		.rfc = "RFC 5321",
	},
	{
		.code = 452,
		.name = "Insufficient system storage",
		.meaning = "The action was not taken because the server lacks storage or a temporary limit was reached.",
		.when = "MAIL with a SIZE above the free space, RCPT beyond the recipient limit (4.5.3), or the end of DATA when the disk filled up.",
		.fix = "Try again later; for too many recipients, send the remaining ones in another transaction.",
		.rfc = "RFC 5321, RFC 1870",
	},
	{
		.code = 454,
		.name = "Temporary authentication or TLS failure",
		.meaning = "Authentication or TLS cannot be done right now for a temporary reason.",
		.when = "In answer to AUTH when the credential store is unreachable, or to STARTTLS when TLS is temporarily unavailable.",
		.fix = "Try again later; the operator should check the credential store or the TLS setup.",
		.rfc = "RFC 4954, RFC 3207",
	},
	{
		.code = 455,
		.name = "Server unable to accommodate parameters",
		.meaning = "The MAIL or RCPT parameters are understood but cannot be honoured at the moment.",
		.when = "In answer to MAIL FROM or RCPT TO with ESMTP parameters the server knows but cannot satisfy right now.",
		.fix = "Try again later, or send the command without the parameter that cannot be met.",
		.rfc = "RFC 5321",
	},	{
		.code = 458,
		.name = "Unable to queue messages for node",
		.meaning = "The server accepted ETRN but cannot start delivering the mail it holds for the node right now.",
		.when = "In answer to ETRN (RFC 1985) when the queue runner cannot be started, for example under load.",
		.fix = "Send ETRN again later; the held mail stays queued and is also retried on the server's own schedule.",
		.rfc = "RFC 1985",
	},
	{
		.code = 459,
		.name = "Node not allowed",
		.meaning = "The server refuses ETRN for this node; the text gives the reason.",
		.when = "In answer to ETRN (RFC 1985) for a domain the server holds no mail for or does not let this client flush.",
		.fix = "Ask the server's operator to allow ETRN for your domain from your address, or wait for normal delivery.",
		.rfc = "RFC 1985",
	},

	{
		.code = 500,
		.name = "Syntax error, command unrecognised",
		.meaning = "The server could not make sense of the command line.",
		.when = "A typo or an unknown verb, a line over 512 octets or not ended by CRLF, or base64 sent when the server is not in an AUTH exchange (500 5.5.2); during AUTH, a response line that is too long (500 5.5.6).",
		.fix = "Look at the command sent last: spell the verb right, keep lines under 512 octets ending in CRLF, and send base64 only in answer to a 334 challenge.",
		.rfc = "RFC 5321, RFC 4954",
	},
	{
		.code = 501,
		.name = "Syntax error in parameters or arguments",
		.meaning = "The command was recognised but its arguments are malformed.",
		.when = "EHLO without a domain, MAIL FROM or RCPT TO with a broken address, STARTTLS with arguments, bad base64 in AUTH, or \"*\" cancelling AUTH (5.7.0).",
		.fix = "Correct the arguments (angle brackets around addresses, a valid domain, valid base64) and send the command again.",
		.rfc = "RFC 5321, RFC 4954",
	},
	{
		.code = 502,
		.name = "Command not implemented",
		.meaning = "The server knows the command but does not implement it.",
		.when = "EXPN, TURN, or STARTTLS on a server without TLS configured; Postfix also answers an unknown command with 502 5.5.2.",
		.fix = "Do without the command, or use a server that offers it.",
		.rfc = "RFC 5321",
	},
	{
		.code = 503,
		.name = "Bad sequence of commands",
		.meaning = "The command is valid but not allowed at this point of the session.",
		.when = "MAIL before EHLO, RCPT before MAIL, DATA without recipients, AUTH twice or inside a transaction, BDAT mixed with DATA; some servers also answer RCPT with 503 5.7.1 when they refuse to relay.",
		.fix = "Send commands in the order SMTP requires: EHLO, then STARTTLS and AUTH if needed, then MAIL, RCPT, DATA; with 5.7.1 it is a relay refusal, not an order problem.",
		.rfc = "RFC 5321, RFC 3030, RFC 4954",
	},
	{
		.code = 504,
		.name = "Command parameter not implemented",
		.meaning = "A parameter of the command is well formed but not supported.",
		.when = "AUTH with a mechanism the server does not offer, or another unsupported command parameter.",
		.fix = "Use one of the mechanisms or options the server listed in its EHLO reply.",
		.rfc = "RFC 5321, RFC 4954",
	},
	{
		.code = 521,
		.name = "Host does not accept mail",
		.meaning = "This host never accepts mail; retrying will not help.",
		.when = "Instead of the greeting on a host that receives no mail (it then closes), or in answer to a command.",
		.fix = "Check the domain's MX records and send to its real mail server.",
		.rfc = "RFC 7504",
	},
	{
		.code = 530,
		.name = "Authentication required",
		.meaning = "The command is refused until the client has authenticated, or has started TLS.",
		.when = "MAIL on a submission port before AUTH, or a command refused until STARTTLS has been done.",
		.fix = "Run STARTTLS if required, then AUTH with valid credentials, then repeat the command.",
		.rfc = "RFC 4954, RFC 3207",
	},
	{
		.code = 534,
		.name = "Authentication mechanism is too weak",
		.meaning = "Policy does not allow the chosen SASL mechanism for this user.",
		.when = "In answer to AUTH with a mechanism weaker than the server accepts.",
		.fix = "Choose a stronger mechanism from the AUTH line of the EHLO reply, such as SCRAM-SHA-256.",
		.rfc = "RFC 4954",
	},
	{
		.code = 535,
		.name = "Authentication credentials invalid",
		.meaning = "Authentication failed: the user name, password or other credential is wrong.",
		.when = "As the last reply of a failed AUTH exchange; unknown users and wrong passwords get the same reply.",
		.fix = "Check the user name and password and try again; repeated failures may close the session.",
		.rfc = "RFC 4954",
	},
	{
		.code = 538,
		.name = "Encryption required for requested authentication mechanism",
		.meaning = "The chosen mechanism may only be used over an encrypted connection.",
		.when = "AUTH PLAIN or AUTH LOGIN on a connection without TLS.",
		.fix = "Run STARTTLS (or use the implicit-TLS port) and authenticate again.",
		.rfc = "RFC 4954",
	},
	{
		.code = 550,
		.name = "Mailbox unavailable",
		.meaning = "The action was refused because the mailbox cannot be used, or policy forbids it.",
		.when = "RCPT for an address that does not exist, a disabled mailbox, or mail refused by policy (spam, reputation, authentication checks).",
		.fix = "With an X.1.x code check the address for typos; with an X.7.x code the text names the policy check that failed, which the sender's side has to fix.",
		.rfc = "RFC 5321",
	},
	{
		.code = 551,
		.name = "User not local; please try forward path",
		.meaning = "The recipient is not here; the server names another address and will not forward the message itself.",
		.when = "In answer to RCPT for a user who has moved.",
		.fix = "Send to the address given in the reply text.",
		.rfc = "RFC 5321",
	},
	{
		.code = 552,
		.name = "Exceeded storage allocation",
		.meaning = "The message was refused because it is larger than a size or storage limit.",
		.when = "MAIL with SIZE above the limit, or the end of DATA or BDAT when the message turned out too big; some servers also use it for a full mailbox.",
		.fix = "Send a smaller message (shrink attachments or send a link) or ask the recipient to free space.",
		.rfc = "RFC 5321, RFC 1870, RFC 3030",
	},
	{
		.code = 553,
		.name = "Mailbox name not allowed",
		.meaning = "The action was refused because the mailbox name is not acceptable.",
		.when = "A malformed address, a sender the server will not accept, or a non-ASCII address sent without SMTPUTF8 (5.6.7).",
		.fix = "Correct the address; for international addresses use a server that offers SMTPUTF8 and give SMTPUTF8 on MAIL.",
		.rfc = "RFC 5321, RFC 6531",
	},
	{
		.code = 554,
		.name = "Transaction failed",
		.meaning = "The transaction failed; the reply text says why.",
		.when = "DATA after every recipient was refused, a message refused at its end (content, bare line endings), a relay refusal (554 5.7.1: the server takes mail only for its own domains or from its own users), or a greeting refusing the connection.",
		.fix = "Read the text: fix the content or the recipients; for a relay refusal, send through your own provider's submission server with AUTH, or straight to the recipient domain's MX.",
		.rfc = "RFC 5321, RFC 3030",
	},
	{
		.code = 555,
		.name = "MAIL FROM/RCPT TO parameters not recognized or not implemented",
		.meaning = "A parameter on MAIL FROM or RCPT TO is unknown to the server or not supported.",
		.when = "MAIL or RCPT with an ESMTP parameter the server did not advertise.",
		.fix = "Send only the parameters the server listed in its EHLO reply.",
		.rfc = "RFC 5321",
	},
	{
		.code = 556,
		.name = "Domain does not accept mail",
		.meaning = "The recipient's domain accepts no mail at all.",
		.when = "A relay reports that the recipient's domain publishes a null MX or otherwise refuses all mail.",
		.fix = "Check the address: this domain cannot receive mail, so reach the person another way.",
		.rfc = "RFC 7504",
	},
};

/* ENH(subject, detail, name, meaning, when, fix, registry, practice, classes, rfc)
 * registry: the IANA column (see codes.h), transcribed from
 * https://www.iana.org/assignments/smtp-enhanced-status-codes; X.7.29 and
 * X.7.30 from RFC 8617 and RFC 8689, which registered them. */
#define ENH(s, d, n, m, w, f, reg, pr, cl, r) \
	{ .subject = (s), .detail = (d), .name = (n), .meaning = (m), .when = (w), .fix = (f), \
	  .registry = (reg), .practice = (pr), .classes = (cl), .rfc = (r) }

static const struct smtp_enh_code enh_codes[] = {
	ENH(0, 0, "Other undefined Status",
	    "Only the class is known; the server gives no more specific reason.",
	    "With any reply from a server that adds enhanced codes but has nothing more precise to say, such as 252 2.0.0 to VRFY or 250 2.0.0 to RSET.",
	    "Judge by the basic code and the reply text: the enhanced code adds nothing here.",
	    "2xx 4xx 5xx", "", "245", "RFC 3463"),

	/* X.1: addressing */
	ENH(1, 0, "Other address status",
	    "Something about an address caused this reply, with no more precise reason.",
	    "In answer to MAIL FROM or RCPT TO; Postfix accepts a sender with 250 2.1.0 Ok.",
	    "For a refusal, check both addresses against the reply text; for a 2.1.0, nothing to fix.",
	    "", "250 451 550", "245", "RFC 3463"),
	ENH(1, 1, "Bad destination mailbox address",
	    "The recipient's mailbox (the part before the @) does not exist.",
	    "In answer to RCPT TO, or in a bounce, when the domain is right but the user name is unknown there.",
	    "Check the spelling of the part before the @ and ask the recipient for the current address; do not retry unchanged.",
	    "451 550", "", "45", "RFC 3463"),
	ENH(1, 2, "Bad destination system address",
	    "The recipient's domain (the part after the @) does not exist or cannot take mail.",
	    "In answer to RCPT TO or in a bounce when the recipient's domain has no DNS records or refuses mail.",
	    "Check the spelling of the domain after the @; if it is right, the domain's owner must fix its DNS (MX or address records).",
	    "", "550 554", "45", "RFC 3463"),
	ENH(1, 3, "Bad destination mailbox address syntax",
	    "The recipient address is not syntactically valid.",
	    "In answer to RCPT TO with an address that breaks RFC 5321 syntax: no angle brackets, spaces, two @ signs, or a trailing dot.",
	    "Write the recipient as RCPT TO:<user@example.org>, with no spaces or comments inside the brackets.",
	    "501", "553", "45", "RFC 3463"),
	ENH(1, 4, "Destination mailbox address ambiguous",
	    "The recipient address matches more than one mailbox at the destination.",
	    "In answer to RCPT TO on a server that maps names loosely (by full name or prefix) and found several mailboxes.",
	    "Use the recipient's exact, full address as they gave it to you.",
	    "", "450 550 553", "45", "RFC 3463"),
	ENH(1, 5, "Destination address valid",
	    "The recipient address is valid; seen in positive replies.",
	    "In answer to RCPT TO that was accepted (Postfix: 250 2.1.5 Ok), or in a positive delivery report.",
	    "Nothing to fix: add further recipients or send DATA.",
	    "250", "251 252", "2", "RFC 3463"),
	ENH(1, 6, "Destination mailbox has moved, No forwarding address",
	    "The address used to be valid but no longer receives mail.",
	    "In answer to RCPT TO or in a bounce for a former employee or a closed account.",
	    "Remove the address from your lists and reach the person by another address.",
	    "", "550 551", "45", "RFC 3463"),
	ENH(1, 7, "Bad sender's mailbox address syntax",
	    "The sender address is not syntactically valid.",
	    "In answer to MAIL FROM with a malformed address (Postfix: 501 5.1.7 Bad sender address syntax).",
	    "Write the sender as MAIL FROM:<user@example.org> (or <> for a bounce), with no spaces inside the brackets.",
	    "", "501 553", "45", "RFC 3463"),
	ENH(1, 8, "Bad sender's system address",
	    "The sender's domain does not exist or cannot receive replies.",
	    "In answer to MAIL FROM or RCPT TO when the receiver looked up the sender's domain and found no MX or address (Postfix: Sender address rejected: Domain not found).",
	    "Send from a domain that exists in public DNS with an MX or address record; a temporary 4.1.8 means the lookup failed, so retry later.",
	    "451 501", "450 550 553", "45", "RFC 3463"),
	ENH(1, 9, "Message relayed to non-compliant mailer",
	    "The address was valid, but the message was passed to a system that cannot report delivery status.",
	    "In a delivery status notification with the action \"relayed\" (RFC 3886), never as a refusal.",
	    "Nothing to fix: no further delivery report will come from beyond that system.",
	    "", "250", "2", "RFC 3886"),
	ENH(1, 10, "Recipient address has null MX",
	    "The recipient's domain publishes a null MX, declaring that it accepts no mail.",
	    "In answer to RCPT TO, or in a bounce from your own relay, when the recipient's domain has the MX record \"0 .\".",
	    "The domain receives no mail at all: reach the person by another address; retrying cannot help.",
	    "556", "550", "45", "RFC 7505, RFC 7504"),

	/* X.2: mailbox */
	ENH(2, 0, "Other or undefined mailbox status",
	    "The mailbox exists, but something about it caused this reply.",
	    "In answer to RCPT TO or at the end of DATA, when the mailbox exists but refused for a reason the server does not detail.",
	    "Read the reply text; if it gives no cause, ask the recipient to check their mailbox settings.",
	    "", "450 550", "45", "RFC 3463"),
	ENH(2, 1, "Mailbox disabled, not accepting messages",
	    "The mailbox exists but is not taking mail, for now or for good.",
	    "In answer to RCPT TO for a suspended or deactivated account (Gmail: 550 5.2.1 The email account that you tried to reach is disabled).",
	    "A 4.2.1 may clear up: retry later. With 5.2.1 reach the person another way; only the mailbox owner can re-enable it.",
	    "", "450 550", "45", "RFC 3463"),
	ENH(2, 2, "Mailbox full",
	    "The mailbox is over its quota; its owner can make room.",
	    "In answer to RCPT TO or at the end of DATA when the recipient's storage is full (Gmail: 452 4.2.2 The recipient's inbox is out of storage space).",
	    "Retry later or tell the recipient another way; only they can free space or raise the quota.",
	    "552", "452 450 550", "45", "RFC 3463"),
	ENH(2, 3, "Message length exceeds administrative limit",
	    "The message is larger than this mailbox's own size limit.",
	    "At MAIL FROM with SIZE= or at the end of DATA, when the recipient's mailbox takes smaller messages than the server does.",
	    "Send a smaller message: compress or drop attachments, or share a link instead.",
	    "552", "", "45", "RFC 3463"),
	ENH(2, 4, "Mailing list expansion problem",
	    "The address is a mailing list that could not be expanded.",
	    "In answer to RCPT TO for a list address, when the list manager could not read its member list.",
	    "Retry later; if it persists, tell the list's owner (usually listname-owner@ the list's domain).",
	    "450 452", "550", "45", "RFC 3463"),

	/* X.3: mail system */
	ENH(3, 0, "Other or undefined mail system status",
	    "The destination normally accepts mail, but a problem on that system caused this reply.",
	    "At any stage, when the receiving server has a fault it does not describe further; also 221 2.3.0 or 250 2.3.0 from some servers.",
	    "With 4.3.0 retry later; with 5.3.0 send the reply text to the receiving server's operator.",
	    "221 250 421 451 550 554", "", "245", "RFC 3463"),
	ENH(3, 1, "Mail system full",
	    "The receiving system has run out of storage.",
	    "At MAIL FROM (with SIZE=) or at the end of DATA when the receiving server's disk or queue is full.",
	    "Retry later; your mail queue does this by itself. The receiving operator must free disk space.",
	    "452", "", "45", "RFC 3463"),
	ENH(3, 2, "System not accepting network messages",
	    "The host is not taking mail, because of shutdown, overload or maintenance, or never.",
	    "In the greeting or at any point: 421 4.3.2 when a server shuts down or is overloaded, 521 5.3.2 from a host that never receives mail.",
	    "With 4.3.2 retry later. With 5.3.2 check the domain's MX records: you are talking to a host that is not its mail server.",
	    "453 521", "421 554", "45", "RFC 3463, RFC 7504"),
	ENH(3, 3, "System not capable of selected features",
	    "The message asks for features the destination system does not support.",
	    "At MAIL FROM or RCPT TO with a parameter or at the end of DATA with content a gateway cannot map to the next system.",
	    "Send without the feature the reply names (for example without DSN options or 8-bit content).",
	    "", "500 550 554", "45", "RFC 3463"),
	ENH(3, 4, "Message too big for system",
	    "The message is larger than the system-wide size limit.",
	    "At MAIL FROM with a SIZE= above the limit the server advertised in EHLO, or at the end of DATA or BDAT.",
	    "Make the message smaller than the server's SIZE limit from its EHLO reply: compress or drop attachments, or share a link.",
	    "552 554", "", "45", "RFC 3463"),
	ENH(3, 5, "System incorrectly configured",
	    "The receiving system is set up in a way that prevents it from accepting this message.",
	    "At any stage when the receiving server detects its own misconfiguration (a missing transport, an MX pointing to itself).",
	    "Nothing to change on your side: report the reply text to the receiving server's operator, then retry.",
	    "", "451 554", "45", "RFC 3463"),
	ENH(3, 6, "Requested priority was changed",
	    "The message was accepted, but not at the priority the sender asked for.",
	    "In answer to MAIL FROM with MT-PRIORITY= (RFC 6710) that the server lowered; the text gives the new priority.",
	    "Nothing to fix: the message is accepted; expect it to be handled at the priority in the text.",
	    "250 251", "", "2", "RFC 6710"),

	/* X.4: network and routing */
	ENH(4, 0, "Other or undefined network or routing status",
	    "A network or routing problem with no more specific code.",
	    "In a bounce or a relay's reply when forwarding to the next hop failed for a network reason it does not name.",
	    "Retry later; if it persists, check that the recipient's domain has working MX hosts.",
	    "", "451 554", "45", "RFC 3463"),
	ENH(4, 1, "No answer from host",
	    "The next host did not answer the connection attempt.",
	    "In a relay's reply or a delay notice when the recipient's mail servers did not accept a connection.",
	    "Retry later; the recipient's side must bring its mail server up or fix the firewall in front of port 25.",
	    "451", "", "45", "RFC 3463"),
	ENH(4, 2, "Bad connection",
	    "A connection was made but broke or timed out before the transaction finished.",
	    "421 4.4.2 when the server closes an idle session (a timeout), or in a delay notice after the next hop dropped the connection.",
	    "Answer the server faster (no long pauses between commands), then reconnect; a queue retries by itself.",
	    "421", "451", "45", "RFC 3463"),
	ENH(4, 3, "Directory server failure",
	    "A directory service such as DNS could not be reached to route the message.",
	    "When the server could not complete a DNS (or LDAP) lookup for an address, often 451 4.4.3 with a temporary lookup failure.",
	    "Retry later; if it persists, the DNS servers of the domain in question (or the server's resolver) need fixing.",
	    "451 550", "", "45", "RFC 3463"),
	ENH(4, 4, "Unable to route",
	    "No route to the next hop was found, for example a domain with no usable MX or address.",
	    "In a relay's reply or a bounce when the recipient's domain has no MX and no address record.",
	    "Check the recipient's domain for typos; if it is right, its owner must publish an MX record.",
	    "", "451 550 554", "45", "RFC 3463"),
	ENH(4, 5, "Mail system congestion",
	    "The mail system is congested and cannot take the message now.",
	    "In answer to a connection or a command when the server is overloaded or rate-limits you.",
	    "Slow down: send fewer messages per connection and fewer connections at once, and retry later.",
	    "451", "421", "45", "RFC 3463"),
	ENH(4, 6, "Routing loop detected",
	    "The message was forwarded too many times, usually because of a loop.",
	    "At the end of DATA or in a bounce when the message has too many Received: lines (a forwarding loop).",
	    "Look at the Received: lines to find the two systems forwarding to each other, and fix their forwarding rules.",
	    "", "554", "45", "RFC 3463"),
	ENH(4, 7, "Delivery time expired",
	    "The message waited too long or outlived the lifetime the sender allowed.",
	    "In a bounce from your own relay after it kept retrying for days (Postfix: 5 days by default).",
	    "Find the earlier temporary error in the bounce (the real cause), fix it, then send the message again.",
	    "", "451 554", "45", "RFC 3463"),

	/* X.5: mail delivery protocol */
	ENH(5, 0, "Other or undefined protocol status",
	    "A protocol problem with no more specific code.",
	    "With many replies, positive or not: 250 2.5.0 from BURL, 253 2.5.0 or 458 4.5.0 to ETRN, 503 5.5.0 for a command out of place.",
	    "For a refusal, compare the command you sent with the reply text; for a 2.5.0, nothing to fix.",
	    "220 250 251 252 253 451 452 454 458 459 501 502 503 554", "", "245", "RFC 3463"),
	ENH(5, 1, "Invalid command",
	    "The command was sent out of sequence or is not supported.",
	    "503 5.5.1 for a command out of order (RCPT before MAIL), 500 5.5.1 from Sendmail for an unknown command, 502 5.5.1 for one not implemented.",
	    "Send commands in SMTP order (EHLO, MAIL, RCPT, DATA) and only the ones the server lists in its EHLO reply.",
	    "430 500 501 503 530 550 554 555", "502", "45", "RFC 3463"),
	ENH(5, 2, "Syntax error",
	    "The command could not be parsed, or its verb is unknown.",
	    "502 5.5.2 from Postfix for an unknown command, 500 5.5.2 when base64 arrives outside an AUTH exchange, 501 5.5.2 for a malformed argument.",
	    "Check the exact command sent: a typo in the verb, a client speaking another protocol, or AUTH data sent without AUTH.",
	    "500 501 502 550 555", "", "45", "RFC 3463"),
	ENH(5, 3, "Too many recipients",
	    "More recipients were given than the server takes in one transaction.",
	    "In answer to RCPT TO past the server's per-message limit; RFC 5321 4.5.3.1.10 asks for 452 and tells clients to treat an old-style 552 here as 452 too.",
	    "Send the message now to the accepted recipients, then the rest in another transaction.",
	    "451", "452 552", "45", "RFC 3463"),
	ENH(5, 4, "Invalid command arguments",
	    "The command is valid, but its arguments are out of range or name unknown features.",
	    "An unknown ESMTP parameter on MAIL or RCPT (555 5.5.4), a bad AUTH mechanism name (504 5.5.4), or EHLO arguments the server dislikes (Postfix: 504 5.5.2 for a hostname that is not fully qualified).",
	    "Send only the parameters the server lists in its EHLO reply, with values in their allowed range.",
	    "451 501 502 503 504 550 555", "455", "45", "RFC 3463"),
	ENH(5, 5, "Wrong protocol version",
	    "The two sides could not agree on a protocol version.",
	    "Rare in SMTP; seen from gateways to other mail protocols or when a client speaks LMTP to an SMTP port or the other way round.",
	    "Check that client and server speak the same protocol on this port (SMTP, LMTP or submission).",
	    "", "554", "45", "RFC 3463"),
	ENH(5, 6, "Authentication Exchange line is too long",
	    "A line of the AUTH exchange was longer than the server accepts.",
	    "In answer to an AUTH response line (or an initial response) longer than the server's limit (Postfix: 12288 octets).",
	    "Send a shorter response: a client bug or a huge token (such as an OAuth bearer token) is usually the cause; try another mechanism.",
	    "500", "", "45", "RFC 4954"),

	/* X.6: message content or media */
	ENH(6, 0, "Other or undefined media error",
	    "Something in the message content made it undeliverable.",
	    "At the end of DATA when a content filter refused the message without a more precise code.",
	    "Read the reply text for the part it objects to (an attachment type, a header) and change the content.",
	    "", "550 554", "45", "RFC 3463"),
	ENH(6, 1, "Media not supported",
	    "The message's media type or encoding is not supported along the delivery path.",
	    "At the end of DATA when the message uses a MIME type or encoding a gateway on the path cannot carry.",
	    "Send the content in a common form: text/plain or text/html, attachments as base64.",
	    "", "554", "45", "RFC 3463"),
	ENH(6, 2, "Conversion required and prohibited",
	    "The content would have to be converted, but conversion is forbidden.",
	    "When the next hop needs a different encoding but the sender or policy forbade changing the message (for example a signed message).",
	    "Send the message already in the form the path accepts (7-bit with base64 or quoted-printable parts).",
	    "", "554", "45", "RFC 3463"),
	ENH(6, 3, "Conversion required but not supported",
	    "The content must be converted (for example from 8-bit to 7-bit) but no host on the path can do it.",
	    "When 8-bit or binary content reaches a hop without 8BITMIME or BINARYMIME and the relay cannot downgrade it.",
	    "Encode 8-bit parts as quoted-printable or base64 before sending.",
	    "554", "", "45", "RFC 3463"),
	ENH(6, 4, "Conversion with loss performed",
	    "The message was delivered, but a conversion lost part of its content.",
	    "In a positive reply or delivery report after a gateway converted the content and lost part of it (a 5.6.4 if the sender forbade lossy conversion).",
	    "If the loss matters, resend in a form that needs no conversion, such as plain text or base64 attachments.",
	    "250", "554", "245", "RFC 3463"),
	ENH(6, 5, "Conversion Failed",
	    "A required conversion was attempted and did not succeed.",
	    "At the end of DATA or in a bounce when a relay tried to convert the content (charset or transfer encoding) and failed.",
	    "Check the message's MIME structure (a validator helps) and send it in an encoding that needs no conversion.",
	    "", "451 554", "45", "RFC 3463"),
	ENH(6, 6, "Message content not available",
	    "Content the message refers to (for example through BURL) could not be fetched.",
	    "In answer to BURL (RFC 4468) when the submission server could not fetch the IMAP URL.",
	    "Check the IMAP URL and its URLAUTH token, or send the message with DATA instead of BURL.",
	    "554", "454", "45", "RFC 4468"),
	ENH(6, 7, "Non-ASCII addresses not permitted for that sender/recipient",
	    "An address contains non-ASCII characters, which this session or server does not allow.",
	    "In answer to MAIL FROM or RCPT TO with a non-ASCII address when the client did not give SMTPUTF8 or the server does not offer it.",
	    "Give SMTPUTF8 on MAIL FROM if the server lists it in EHLO; otherwise use the person's ASCII address.",
	    "553 550", "", "45", "RFC 6531"),
	ENH(6, 8, "UTF-8 string reply is required, but not permitted by the SMTP client",
	    "Showing the mailbox name would need UTF-8, but the client did not enable SMTPUTF8.",
	    "In answer to VRFY or EXPN without SMTPUTF8, when the answer contains a non-ASCII address.",
	    "Repeat the command with the SMTPUTF8 parameter (VRFY name SMTPUTF8) if the server offers it.",
	    "252 553 550", "", "245", "RFC 6531"),
	ENH(6, 9, "UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected",
	    "The message has UTF-8 headers and cannot be passed on to some recipients, so it is refused.",
	    "At the end of DATA when a message with UTF-8 headers must go to a hop without SMTPUTF8.",
	    "Send to those recipients a message with ASCII-only headers (encoded words for names), or through a path with SMTPUTF8.",
	    "550", "554", "45", "RFC 6531"),
	/* The registry gives X.6.10 no title: it was a duplicate of X.6.8. */
	ENH(6, 10, "Duplicate of X.6.8 (deprecated)",
	    "Registered by mistake as a copy of X.6.8; senders should use X.6.8 instead.",
	    "Only from servers written against the withdrawn experimental SMTPUTF8 drafts.",
	    "Read it as X.6.8: repeat the command with SMTPUTF8.",
	    "", "252 550 553", "245", "RFC 6531"),

	/* X.7: security or policy */
	ENH(7, 0, "Other or undefined security status",
	    "A security or policy problem with no more specific code, or one the server will not detail.",
	    "235 2.7.0 after a successful AUTH, 530 5.7.0 Must issue a STARTTLS command first or Authentication required, 454 4.7.0 TLS not available, 421 4.7.0 too many errors.",
	    "Read the basic code: after 530 start TLS or authenticate, after 454 retry later, after 235 carry on.",
	    "220 235 450 454 500 501 503 504 530 535 550", "421 554", "245", "RFC 3463"),
	ENH(7, 1, "Delivery not authorized, message refused",
	    "The sender is not allowed to send to this recipient, because of filtering or policy.",
	    "Most often a relay refusal: RCPT TO for another domain without AUTH (Postfix: 554 5.7.1 Relay access denied); also blocklists and per-recipient filters.",
	    "Relaying: the server takes mail only for its own domains unless you authenticate, so submit through your own provider (port 587, AUTH) or send to the recipient domain's MX. For a blocklist, the text names the list to ask for delisting.",
	    "451 454 502 503 533 550 551", "450 554", "45", "RFC 3463"),
	ENH(7, 2, "Mailing list expansion prohibited",
	    "The sender is not allowed to send to this mailing list.",
	    "In answer to RCPT TO for a list that accepts posts only from its members or moderators.",
	    "Subscribe with the sending address or ask the list's owner to allow it.",
	    "550", "", "45", "RFC 3463"),
	ENH(7, 3, "Security conversion required but not possible",
	    "Delivery needs a conversion between secure-mail formats that cannot be done.",
	    "When a gateway must turn one secure-mail format into another (for example between S/MIME and a proprietary one) and cannot.",
	    "Send the message in the secure-mail format the recipient's system uses, or unencrypted if policy allows.",
	    "", "554", "45", "RFC 3463"),
	ENH(7, 4, "Security features not supported",
	    "The message relies on security features the delivery path cannot provide.",
	    "When the message or command asks for a security feature (such as an authentication method) the server cannot provide.",
	    "Use a feature the server offers in its EHLO reply, or send without it.",
	    "504", "530 554", "45", "RFC 3463"),
	ENH(7, 5, "Cryptographic failure",
	    "A host entitled to verify or decrypt the message could not, for lack of a valid key.",
	    "When a gateway that should decrypt or verify the message (for example S/MIME at an organisation's border) has no usable key.",
	    "Check that the message was encrypted or signed with the recipient organisation's current certificate.",
	    "", "454 554", "45", "RFC 3463"),
	ENH(7, 6, "Cryptographic algorithm not supported",
	    "A host could not verify or decrypt the message because it lacks the algorithm.",
	    "When a gateway that should decrypt or verify the message does not support the cipher or signature algorithm used.",
	    "Encrypt or sign with a widely supported algorithm (for S/MIME, AES and RSA or ECDSA with SHA-256).",
	    "", "554", "45", "RFC 3463"),
	ENH(7, 7, "Message integrity failure",
	    "A host checking the message found it corrupted or altered.",
	    "When a signature or checksum over the message did not verify at a host that checks it.",
	    "Find what changed the message on the way (a footer added by a list, a line rewrapped) and sign after that step.",
	    "", "554", "245", "RFC 3463"),
	ENH(7, 8, "Authentication credentials invalid",
	    "AUTH failed because the credentials are wrong or not sufficient.",
	    "As the last reply of a failed AUTH exchange: a wrong user name or password, or a provider refusing a plain password (Gmail: 535-5.7.8 Username and Password not accepted).",
	    "Check the user name (often the full address) and the password; at providers with two-step login, create an app password.",
	    "535 554", "", "45", "RFC 4954"),
	ENH(7, 9, "Authentication mechanism is too weak",
	    "The chosen SASL mechanism is weaker than policy allows for this user.",
	    "In answer to AUTH with a mechanism the server accepts in general but not for this user; Gmail sends 534 5.7.9 Application-specific password required.",
	    "Choose a stronger mechanism from the EHLO AUTH line (such as SCRAM-SHA-256); at Gmail, create an app password or use OAuth.",
	    "534", "", "45", "RFC 4954"),
	ENH(7, 10, "Encryption Needed",
	    "A privacy layer such as TLS must be active before this mechanism can be used.",
	    "In answer to AUTH PLAIN or LOGIN (or MAIL on a port that requires TLS) on a connection without TLS.",
	    "Start TLS first (STARTTLS on port 587, or port 465), then authenticate.",
	    "523", "530 538", "45", "RFC 5248"),
	ENH(7, 11, "Encryption required for requested authentication mechanism",
	    "The chosen mechanism may only be used once the connection is encrypted.",
	    "In answer to AUTH with a plaintext mechanism before STARTTLS; RFC 4954 keeps it for history, since servers should not offer such mechanisms then.",
	    "Start TLS first, then repeat AUTH; or choose a mechanism that the EHLO reply offers without TLS.",
	    "524 538", "", "45", "RFC 4954"),
	ENH(7, 12, "A password transition is needed",
	    "The user must log in once with a plaintext mechanism before the chosen one will work.",
	    "In answer to AUTH with a mechanism such as SCRAM whose stored keys do not exist yet for this user.",
	    "Authenticate once with PLAIN over TLS so the server can derive the keys; later sessions can use the chosen mechanism.",
	    "422 432", "", "45", "RFC 4954"),
	ENH(7, 13, "User Account Disabled",
	    "The credentials were right, but the administrator has disabled the account.",
	    "After AUTH with the right password for an account that is locked, suspended or unpaid.",
	    "Do not retype the password: contact the provider or administrator to re-enable the account.",
	    "525", "535 550 554", "45", "RFC 5248"),
	ENH(7, 14, "Trust relationship required",
	    "The submission server needs a configured trust relationship with another server to fetch the content.",
	    "In answer to BURL (RFC 4468) when the submission server is not trusted by the IMAP server holding the content.",
	    "Ask the administrators to set up URLAUTH trust between the submission and IMAP servers, or send with DATA.",
	    "535 554", "", "45", "RFC 5248"),
	ENH(7, 15, "Priority Level is too low",
	    "The requested priority is below what the server currently accepts.",
	    "In answer to MAIL FROM with MT-PRIORITY= (RFC 6710) while the server takes only higher priorities.",
	    "Retry later, or send with a higher MT-PRIORITY if you are entitled to it.",
	    "450 550 4xx 5xx", "", "45", "RFC 6710"),
	ENH(7, 16, "Message is too big for the specified priority",
	    "The message is larger than the server accepts at the requested priority.",
	    "In answer to MAIL FROM with MT-PRIORITY= and SIZE= when high-priority mail has a lower size limit.",
	    "Send a smaller message, or send it at a lower priority.",
	    "552 4xx 5xx", "", "45", "RFC 6710"),
	ENH(7, 17, "Mailbox owner has changed",
	    "The mailbox has changed owner since the date the sender gave (RRVS).",
	    "In answer to RCPT TO with RRVS= (RFC 7293), when the address was reassigned after that date.",
	    "Do not resend: the address now belongs to someone else; ask the person for their new address.",
	    "5xx", "", "45", "RFC 7293"),
	ENH(7, 18, "Domain owner has changed",
	    "The recipient's domain has changed owner since the date the sender gave (RRVS).",
	    "In answer to RCPT TO with RRVS= (RFC 7293), when the recipient's domain was registered by someone new after that date.",
	    "Do not resend: the domain belongs to someone else now; find the person's current address.",
	    "5xx", "", "45", "RFC 7293"),
	ENH(7, 19, "RRVS test cannot be completed",
	    "The receiver cannot compare mailbox ownership with the date given because it kept no record.",
	    "In answer to RCPT TO with RRVS= (RFC 7293) when the receiver kept no record of when the mailbox was created.",
	    "Decide whether to send again without RRVS; the receiver cannot confirm the owner.",
	    "5xx", "", "45", "RFC 7293"),
	ENH(7, 20, "No passing DKIM signature found",
	    "Local policy wants a valid DKIM signature and the message has none.",
	    "At the end of DATA at a receiver that requires DKIM, when the message is unsigned or every signature failed.",
	    "Sign outgoing mail with DKIM and publish the key in DNS; check that nothing alters the message after signing.",
	    "550", "", "45", "RFC 7372"),
	ENH(7, 21, "No acceptable DKIM signature found",
	    "The message has valid DKIM signatures, but none from a signer local policy accepts.",
	    "At the end of DATA when the valid signatures belong to domains the receiver does not accept (such as only the provider's domain).",
	    "Sign with a key of your own domain (d= your domain), not only your provider's.",
	    "550", "", "45", "RFC 7372"),
	ENH(7, 22, "No valid author-matched DKIM signature found",
	    "No valid DKIM signature belongs to the domain of the From address.",
	    "At the end of DATA when no valid signature's d= domain matches the From: address's domain.",
	    "Sign with d= the domain of the From: address (or align them), as DMARC also expects.",
	    "550", "", "45", "RFC 7372"),
	ENH(7, 23, "SPF validation failed",
	    "The sending host is not authorised by the sender domain's SPF record.",
	    "At MAIL FROM, RCPT TO or the end of DATA when the sending IP address is not in the sender domain's SPF record (result fail).",
	    "Add the sending server's address (or its provider's include:) to the domain's SPF TXT record, or send through a listed server.",
	    "550", "", "45", "RFC 7372, RFC 7208"),
	ENH(7, 24, "SPF validation error",
	    "The SPF check could not be completed because of an error, such as a broken record or DNS failure.",
	    "451 4.7.24 when the SPF lookup failed temporarily, 550 5.7.24 when the sender domain's SPF record is broken (permerror: syntax, too many lookups).",
	    "Check the domain's SPF record with a validator: one TXT record, valid syntax, at most 10 DNS lookups; retry a 4.7.24 later.",
	    "451 550", "", "45", "RFC 7372, RFC 7208"),
	ENH(7, 25, "Reverse DNS validation failed",
	    "The client's IP address failed the reverse DNS check local policy requires.",
	    "In the greeting or after EHLO when the sending IP has no PTR record, or its name does not resolve back to it.",
	    "Ask whoever runs the sending IP address (the hosting provider) to set a PTR record whose name resolves back to it.",
	    "550", "", "45", "RFC 7372"),
	ENH(7, 26, "Multiple authentication checks failed",
	    "The message failed more than one authentication check (DKIM, SPF, reverse DNS and the like).",
	    "At the end of DATA when several sender checks failed together; Gmail sends 550 5.7.26 for mail failing DMARC (unauthenticated mail).",
	    "Set up SPF and DKIM for the sending domain and align them with the From: domain so DMARC passes.",
	    "550", "", "45", "RFC 7372"),
	ENH(7, 27, "Sender address has null MX",
	    "The sender's domain publishes a null MX, so bounces could not be returned to it.",
	    "In answer to MAIL FROM with an address whose domain has the MX record \"0 .\".",
	    "Send from an address whose domain receives mail; a domain with a null MX cannot be a sender.",
	    "550", "", "45", "RFC 7505"),
	/* Registered from draft-levine-mailbomb-header, which never became an RFC;
	 * the registry's row has no associated basic code. */
	ENH(7, 28, "Mail flood detected",
	    "The message looks like part of a flood of similar unwanted messages.",
	    "When a receiver sees many similar messages at once, such as a subscription bomb against one address.",
	    "Stop the flood at its source (a web form signing people up without confirmation); use double opt-in.",
	    "", "421 450 550", "45", "IANA registry (draft-levine-mailbomb-header)"),
	ENH(7, 29, "ARC validation failure",
	    "The message's ARC chain of custody did not validate.",
	    "At the end of DATA when a forwarded or list message carries ARC headers that do not verify.",
	    "The forwarding system (list or forwarder) must fix its ARC signing; the original sender can do nothing.",
	    "550", "", "45", "RFC 8617"),
	ENH(7, 30, "REQUIRETLS support required",
	    "The message demands TLS on every hop (REQUIRETLS) and the next hop cannot promise it.",
	    "In answer to MAIL FROM with REQUIRETLS when the server or the next hop does not offer REQUIRETLS.",
	    "Send through servers that offer REQUIRETLS, or drop REQUIRETLS if the message may cross a hop without verified TLS.",
	    "550", "", "45", "RFC 8689"),
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

/* ---- pairs of basic and enhanced codes, all derived from enh_codes ---- */

int smtp_code_list_has(const char *list, int basic, int exact)
{
	const char *p = list;

	while (*p) {
		while (*p == ' ')
			p++;
		if (p[0] >= '2' && p[0] <= '5' && p[1] && p[2] && (p[3] == ' ' || p[3] == '\0')) {
			if (p[1] == 'x' && p[2] == 'x') {
				if (!exact && p[0] - '0' == basic / 100)
					return 1;
			} else if ((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0') == basic) {
				return 1;
			}
		}
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

int smtp_code_class_possible(const struct smtp_enh_code *e, int cls)
{
	if (cls != 2 && cls != 4 && cls != 5)
		return 0;
	return e == NULL || strchr(e->classes, '0' + cls) != NULL;
}

enum smtp_pair smtp_code_pair(int basic, int cls, const struct smtp_enh_code *e)
{
	/* RFC 3463 2: the class is the reply's first digit; 3xx carry none */
	if (basic / 100 != cls || !smtp_code_class_possible(e, cls))
		return SMTP_PAIR_IMPOSSIBLE;
	if (e == NULL)
		return SMTP_PAIR_UNLISTED;
	if (smtp_code_list_has(e->registry, basic, 0))
		return SMTP_PAIR_REGISTRY;
	if (smtp_code_list_has(e->practice, basic, 1))
		return SMTP_PAIR_PRACTICE;
	return SMTP_PAIR_UNLISTED;
}

size_t smtp_code_enh_for_basic(int basic, const struct smtp_enh_code **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_LEN(enh_codes); i++) {
		const struct smtp_enh_code *e = &enh_codes[i];

		if (!smtp_code_list_has(e->registry, basic, 1) && !smtp_code_list_has(e->practice, basic, 1))
			continue;
		if (n < max)
			out[n] = e;
		n++;
	}
	return n;
}

/* ---- seen in practice ---- */

#define GOOGLE_SMTP_ERRORS "https://support.google.com/a/answer/3726730"
#define MS_SMTP_AUTH "https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission"

static const struct smtp_code_seen seen[] = {
	{ 421, 4, 2, "Postfix", "421 4.4.2 mail.example.org Error: timeout exceeded",
	  "The client stayed silent longer than smtpd_timeout (300 s by default) and the server hung up.",
	  "Send the next command sooner: a script waiting on user input, or a firewall holding packets, is the usual cause.",
	  "https://www.postfix.org/postconf.5.html#smtpd_timeout" },
	{ 452, 2, 2, "Gmail", "452-4.2.2 The recipient's inbox is out of storage space.",
	  "The Gmail or Google Workspace mailbox is over its storage quota; Gmail treats it as temporary.",
	  "Let your queue retry, and tell the recipient another way to free space in Google storage.",
	  GOOGLE_SMTP_ERRORS },
	{ 500, 3, 3, "Microsoft Exchange", "500 5.3.3 Unrecognized command",
	  "Exchange's reply to a command it does not know, often a client speaking a later stage too early or a proxy mangling the session.",
	  "Look at the command sent just before it in the transcript; send EHLO first and only commands listed in the EHLO reply.",
	  "https://learn.microsoft.com/en-us/exchange/mail-flow/connectors/receive-connectors" },
	{ 502, 5, 2, "Postfix", "502 5.5.2 Error: command not recognized",
	  "Postfix's reply to a verb it does not know (it counts toward smtpd_hard_error_limit).",
	  "Check the verb for typos; a client sending base64 or HTTP to port 25 also gets it.",
	  "https://www.postfix.org/postconf.5.html#smtpd_hard_error_limit" },
	{ 503, 5, 1, "Postfix", "503 5.5.1 Error: authentication not enabled",
	  "AUTH was sent to a Postfix server (or port) where smtpd_sasl_auth_enable is off, such as port 25.",
	  "Submit on port 587 or 465 where the provider enables AUTH; an operator enables it with smtpd_sasl_auth_enable = yes.",
	  "https://www.postfix.org/SASL_README.html" },
	{ 504, 5, 2, "Postfix", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
	  "The server applies reject_non_fqdn_helo_hostname and the name after EHLO has no dot.",
	  "Send EHLO with the client's fully qualified name (postern send --helo mail.example.org).",
	  "https://www.postfix.org/postconf.5.html#reject_non_fqdn_helo_hostname" },
	{ 534, 7, 9, "Gmail", "534-5.7.9 Application-specific password required.",
	  "The Google account has 2-Step Verification, so its normal password is refused for SMTP.",
	  "Create an app password in the Google account's security settings and log in with it, or use OAuth 2.0.",
	  GOOGLE_SMTP_ERRORS },
	{ 535, 7, 3, "Microsoft 365", "535 5.7.3 Authentication unsuccessful",
	  "Exchange Online refused the SMTP AUTH login: wrong credentials, or SMTP AUTH is turned off for the mailbox.",
	  "Check the password, then have an administrator enable Authenticated SMTP for the mailbox, or use OAuth.",
	  MS_SMTP_AUTH },
	{ 535, 7, 8, "Gmail", "535-5.7.8 Username and Password not accepted.",
	  "The user name or password is wrong, or the account needs an app password for SMTP.",
	  "Use the full address as the user name, then an app password if 2-Step Verification is on.",
	  GOOGLE_SMTP_ERRORS },
	{ 535, 7, 139, "Microsoft 365", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
	  "SMTP AUTH (basic authentication) is turned off for the whole Microsoft 365 organisation; 5.7.139 is Microsoft's own code, not in the registry.",
	  "An administrator must enable SMTP AUTH for the tenant or the mailbox, or the client must use OAuth.",
	  MS_SMTP_AUTH },
	{ 550, 1, 1, "Gmail", "550-5.1.1 The email account that you tried to reach does not exist.",
	  "No Gmail or Google Workspace account has this address.",
	  "Check the spelling of the address with the recipient; retrying unchanged fails again.",
	  GOOGLE_SMTP_ERRORS },
	{ 550, 7, 26, "Gmail", "550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users",
	  "The message failed Gmail's sender authentication: neither SPF nor DKIM passed, or DMARC failed.",
	  "Publish SPF for the sending server and sign with DKIM for the From: domain, so that DMARC passes.",
	  "https://support.google.com/a/answer/81126" },
	{ 552, -1, -1, "RFC 5321", "552 too many recipients",
	  "Old servers answered too many recipients with 552; RFC 5321 says this is 452 and clients should treat such a 552 to RCPT as temporary.",
	  "Deliver to the recipients accepted so far, then send the rest in another transaction.",
	  "https://www.rfc-editor.org/rfc/rfc5321#section-4.5.3.1.10" },
	{ 554, 7, 1, "Postfix", "554 5.7.1 <user@example.net>: Relay access denied",
	  "reject_unauth_destination: the recipient's domain is not one this server receives for, and the client is neither in mynetworks nor logged in.",
	  "Log in on the submission port (587 or 465) of your own provider, or send straight to the recipient domain's MX.",
	  "https://www.postfix.org/postconf.5.html#reject_unauth_destination" },
};

size_t smtp_code_seen_count(void)
{
	return ARRAY_LEN(seen);
}

const struct smtp_code_seen *smtp_code_seen_at(size_t i)
{
	return i < ARRAY_LEN(seen) ? &seen[i] : NULL;
}
