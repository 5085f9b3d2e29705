"""The LMS file kept as its bytes: parsing then writing changes nothing, and a replaced cell changes only itself."""
import pytest

from kit.lms import sheet

TRICKY = ('\ufeffIdentifier,"Full name",Grade,"Feedback comments"\r\n'
          '"Participant 1","Ana ""la"" López",,"línea uno\r\nlínea dos, con coma"\r\n'
          '"Participant 2",Bo,7\r\n'
          'último,sin,fin,"de línea"')


def test_parsing_and_writing_gives_back_the_same_bytes():
    assert sheet.parse(TRICKY).text() == TRICKY


def test_a_quoted_field_keeps_its_separators_quotes_and_line_breaks():
    table = sheet.parse(TRICKY)
    assert table.values(1) == ["Participant 1", 'Ana "la" López', "", "línea uno\r\nlínea dos, con coma"]
    assert table.ends == ["\r\n", "\r\n", "\r\n", ""]


def test_a_replaced_cell_changes_only_itself_and_is_quoted_like_the_file():
    table = sheet.parse(TRICKY)
    table.set(2, 3, "muy bien")  # a short record grows to reach the column
    assert table.text() == TRICKY.replace('"Participant 2",Bo,7\r\n', '"Participant 2",Bo,7,"muy bien"\r\n')


@pytest.mark.parametrize("text, spaces", [('a,"b c"\n', True), ("a,b c\n", False)])
def test_the_files_own_habit_for_spaces_is_followed(text, spaces):
    assert sheet.parse(text).quote_spaces is spaces
