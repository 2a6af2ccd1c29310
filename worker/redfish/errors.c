/* Redfish error bodies (DSP0266 "Error responses"): every failure answers
 *   {"error": {"code": MessageId, "message": text,
 *              "@Message.ExtendedInfo": [Message, ...]}}
 * with messages of one Base registry version, Base.1.16.0, whose texts and
 * severities are the registry's own so that clients can match them. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

struct rf_message {
	const char *id;
	const char *text; /* %1..%3 are the arguments */
	const char *severity;
	const char *resolution;
};

/* clang-format off */
static const struct rf_message registry[MSG_COUNT] = {
	[MSG_ACTION_PARAMETER_MISSING] = {"ActionParameterMissing",
		"The action %1 requires the parameter %2 to be present in the request body.",
		"Critical",
		"Supply the action with the required parameter in the request body when the request is resubmitted."},
	[MSG_ACTION_PARAMETER_UNKNOWN] = {"ActionParameterUnknown",
		"The action %1 was submitted with the invalid parameter %2.",
		"Warning",
		"Correct the invalid action parameter and resubmit the request if the operation failed."},
	[MSG_ACTION_PARAMETER_VALUE_NOT_IN_LIST] = {"ActionParameterValueNotInList",
		"The value '%1' for the parameter %2 in the action %3 is not in the list of acceptable values.",
		"Warning",
		"Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	[MSG_ACTION_PARAMETER_VALUE_TYPE_ERROR] = {"ActionParameterValueTypeError",
		"The value '%1' for the parameter %2 in the action %3 is of a different type than the parameter can accept.",
		"Warning",
		"Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	[MSG_CREATE_FAILED_MISSING_REQ_PROPERTIES] = {"CreateFailedMissingReqProperties",
		"The create operation failed because the required property %1 was missing from the request.",
		"Critical",
		"Correct the body to include the required property with a valid value and resubmit the request if the operation failed."},
	[MSG_EMPTY_JSON] = {"EmptyJSON",
		"The request body submitted contained an empty JSON object and the service is unable to process it.",
		"Warning",
		"Add properties in the JSON object and resubmit the request."},
	[MSG_HEADER_INVALID] = {"HeaderInvalid",
		"Header '%1' is invalid.",
		"Critical",
		"Resubmit the request with a valid request header."},
	[MSG_INSUFFICIENT_PRIVILEGE] = {"InsufficientPrivilege",
		"There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.",
		"Critical",
		"Either abandon the operation or change the associated access rights and resubmit the request if the operation failed."},
	[MSG_INTERNAL_ERROR] = {"InternalError",
		"The request failed due to an internal service error.  The service is still operational.",
		"Critical",
		"Resubmit the request.  If the problem persists, consider resetting the service."},
	[MSG_MALFORMED_JSON] = {"MalformedJSON",
		"The request body submitted was malformed JSON and could not be parsed by the receiving service.",
		"Critical",
		"Ensure that the request body is valid JSON and resubmit the request."},
	[MSG_NO_VALID_SESSION] = {"NoValidSession",
		"There is no valid session established with the implementation.",
		"Critical",
		"Establish a session before attempting any operations."},
	[MSG_OPERATION_NOT_ALLOWED] = {"OperationNotAllowed",
		"The HTTP method is not allowed on this resource.",
		"Critical",
		"None."},
	[MSG_PAYLOAD_TOO_LARGE] = {"PayloadTooLarge",
		"The supplied payload exceeds the maximum size supported by the service.",
		"Critical",
		"Check that the supplied payload is correct and supported by this service."},
	[MSG_PRECONDITION_FAILED] = {"PreconditionFailed",
		"The ETag supplied did not match the ETag required to change this resource.",
		"Critical",
		"Try the operation again using the appropriate ETag."},
	[MSG_PROPERTY_NOT_WRITABLE] = {"PropertyNotWritable",
		"The property %1 is a read only property and cannot be assigned a value.",
		"Warning",
		"Remove the property from the request body and resubmit the request if the operation failed."},
	[MSG_PROPERTY_UNKNOWN] = {"PropertyUnknown",
		"The property %1 is not in the list of valid properties for the resource.",
		"Warning",
		"Remove the unknown property from the request body and resubmit the request if the operation failed."},
	[MSG_PROPERTY_VALUE_NOT_IN_LIST] = {"PropertyValueNotInList",
		"The value '%1' for the property %2 is not in the list of acceptable values.",
		"Warning",
		"Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	[MSG_PROPERTY_VALUE_OUT_OF_RANGE] = {"PropertyValueOutOfRange",
		"The value '%1' for the property %2 is not in the supported range of acceptable values.",
		"Warning",
		"Correct the value for the property in the request body and resubmit the request if the operation failed."},
	[MSG_PROPERTY_VALUE_TYPE_ERROR] = {"PropertyValueTypeError",
		"The value '%1' for the property %2 is of a different type than the property can accept.",
		"Warning",
		"Correct the value for the property in the request body and resubmit the request if the operation failed."},
	[MSG_RESOURCE_IN_STANDBY] = {"ResourceInStandby",
		"The request could not be performed because the resource is in standby.",
		"Critical",
		"Ensure that the resource is in the correct power state and resubmit the request."},
	[MSG_RESOURCE_IN_USE] = {"ResourceInUse",
		"The change to the requested resource failed because the resource is in use or in transition.",
		"Warning",
		"Remove the condition and resubmit the request if the operation failed."},
	[MSG_RESOURCE_NOT_FOUND] = {"ResourceNotFound",
		"The requested resource of type %1 named '%2' was not found.",
		"Critical",
		"Provide a valid resource identifier and resubmit the request."},
	[MSG_SERVICE_TEMPORARILY_UNAVAILABLE] = {"ServiceTemporarilyUnavailable",
		"The service is temporarily unavailable.  Retry in %1 seconds.",
		"Critical",
		"Wait for the indicated retry duration and retry the operation."},
	[MSG_SESSION_LIMIT_EXCEEDED] = {"SessionLimitExceeded",
		"The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.",
		"Critical",
		"Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported."},
};
/* clang-format on */

const char *rf_msgid_name(enum rf_msgid id, char *buf, size_t size)
{
	snprintf(buf, size, "%s.%s", RF_REGISTRY, (unsigned)id < MSG_COUNT ? registry[id].id : "?");
	return buf;
}

/* Replace %1..%3 in the registry text by the arguments. */
static void expand(char *out, size_t size, const char *tmpl, const char *const args[3])
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 1 < size; p++) {
		if (p[0] == '%' && p[1] >= '1' && p[1] <= '3') {
			const char *a = args[p[1] - '1'] ? args[p[1] - '1'] : "";
			while (*a && n + 1 < size)
				out[n++] = *a++;
			p++;
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

static json_t *message_obj(enum rf_msgid id, const char *const args[3])
{
	const struct rf_message *m = &registry[id];
	char text[512], name[96];
	json_t *o, *margs = json_array();

	expand(text, sizeof(text), m->text, args);
	for (int i = 0; i < 3; i++)
		if (args[i])
			json_array_append_new(margs, json_string(args[i]));
	o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "@odata.type",
		      "#" V_MESSAGE ".Message", "MessageId", rf_msgid_name(id, name, sizeof(name)),
		      "Message", text, "MessageArgs", margs, "MessageSeverity", m->severity,
		      "Severity", m->severity, "Resolution", m->resolution);
	return o;
}

void rf_msg(struct rf_call *c, enum rf_msgid id, const char *a1, const char *a2, const char *a3)
{
	const char *args[3] = {a1, a2, a3};
	char safe[3][128];

	if ((unsigned)id >= MSG_COUNT)
		id = MSG_INTERNAL_ERROR;
	/* arguments may echo what the client sent: keep them short and valid UTF-8 */
	for (int i = 0; i < 3; i++)
		if (args[i]) {
			rf_sanitize(safe[i], sizeof(safe[i]), args[i]);
			args[i] = safe[i];
		}
	if (!c->messages)
		c->messages = json_array();
	json_array_append_new(c->messages, message_obj(id, args));
}

int rf_fail(struct rf_call *c, int status, const char *detail)
{
	json_t *first, *err;
	const char *code, *text;
	char msg[640];

	if (!c->messages || json_array_size(c->messages) == 0)
		rf_msg(c, MSG_INTERNAL_ERROR, NULL, NULL, NULL);
	first = json_array_get(c->messages, 0);
	code = json_string_value(json_object_get(first, "MessageId"));
	text = json_string_value(json_object_get(first, "Message"));
	if (detail && *detail) {
		char safe[256];
		rf_sanitize(safe, sizeof(safe), detail);
		snprintf(msg, sizeof(msg), "%s  Detail: %s.", text, safe);
	} else if (json_array_size(c->messages) > 1) {
		snprintf(msg, sizeof(msg), "%s  See @Message.ExtendedInfo for more.", text);
	} else {
		snprintf(msg, sizeof(msg), "%s", text);
	}
	err = json_pack("{s:{s:s, s:s, s:O}}", "error", "code", code, "message", msg,
			"@Message.ExtendedInfo", c->messages);
	rf_reply(c, status, err);
	return RF_DONE;
}

int rf_error(struct rf_call *c, int status, enum rf_msgid id, const char *a1, const char *a2,
	     const char *a3)
{
	rf_msg(c, id, a1, a2, a3);
	return rf_fail(c, status, NULL);
}

int rf_not_found(struct rf_call *c, const char *type, const char *id)
{
	return rf_error(c, 404, MSG_RESOURCE_NOT_FOUND, type, id, NULL);
}
