/* Shared by every liblatrack header: marks the exported API (the library
 * is built with -fvisibility=hidden). */
#ifndef LATRACK_API_H
#define LATRACK_API_H

#define LT_API __attribute__((visibility("default")))

#endif
