/* The reply parser moved down to smtp/ (the LMTP store backend uses it too);
 * client/ code keeps including it by this name. */
#ifndef POSTERN_CLIENT_REPLY_PARSE_H
#define POSTERN_CLIENT_REPLY_PARSE_H

#include "smtp/reply_parse.h"

#endif
