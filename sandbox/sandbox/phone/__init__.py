"""A fake WhatsApp Cloud API plus a chat page that plays several users' phones."""
