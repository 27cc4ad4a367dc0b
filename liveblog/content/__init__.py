"""What an entry is made of: cleaning, embeds, bodies, time labels, pictures, rendering.

Also the template filters that format its times and pictures.
"""
