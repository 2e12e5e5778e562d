# Writes agentlog(1) from the binary's own --help texts, so the man page and --help never differ.
# With help2man (HELP2MAN set) the top-level help becomes NAME/SYNOPSIS/DESCRIPTION/OPTIONS and
# the per-command helps go in through an include file; without it the same parts are written as
# plain roff here.
#   cmake -DAGENTLOG=bin -DHELP2MAN=path-or-empty -DSTATIC=agentlog.h2m -DOUT=agentlog.1 -P man_page.cmake
cmake_minimum_required(VERSION 3.22)

# roff-safe literal text: backslashes, and lines that start with a control character.
function(roff_escape in out)
  string(REPLACE "\\" "\\e" t "${in}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" t "${t}")
  set(${out} "${t}" PARENT_SCOPE)
endfunction()

function(help_of args out)
  execute_process(COMMAND ${AGENTLOG} ${args} --help OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${AGENTLOG} ${args} --help failed: ${rc}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

set(commands "")
foreach(sub run check check-config redact-test plugins)
  help_of("${sub}" text)
  roff_escape("${text}" text)
  string(APPEND commands ".SS \"agentlog ${sub}\"\n.nf\n${text}.fi\n")
endforeach()
file(READ ${STATIC} static_sections)
set(include_file "${OUT}.h2m")
file(WRITE ${include_file} "[COMMANDS]\n${commands}\n${static_sections}")

execute_process(COMMAND ${AGENTLOG} --version OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
if(HELP2MAN)
  execute_process(COMMAND ${HELP2MAN} --no-info --section=1
                    "--name=a fast, strict filter for AI-agent activity logs"
                    --include=${include_file} --output=${OUT} ${AGENTLOG}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "help2man failed: ${rc}")
  endif()
else()
  help_of("" top)
  roff_escape("${top}" top)
  # The include file's "[SECTION]" headings become .SH lines.
  string(REGEX REPLACE "(^|\n)\\[([A-Z ]+)\\]\n" "\\1.SH \"\\2\"\n" sections "[COMMANDS]\n${commands}\n${static_sections}")
  file(WRITE ${OUT} ".TH AGENTLOG 1 \"\" \"${version}\" \"User Commands\"\n"
    ".SH NAME\nagentlog \\- a fast, strict filter for AI-agent activity logs\n"
    ".SH SYNOPSIS\n.B agentlog\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIINPUT\\fR...]\n"
    ".SH DESCRIPTION\n.nf\n${top}.fi\n${sections}")
endif()
